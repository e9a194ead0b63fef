// The session and the REST client: an API key is exchanged for a short-lived token.
//
// The key lives only in this module's memory (so the token can be renewed before it expires);
// the token is kept in sessionStorage so that a reload keeps the session until it expires.

const STORAGE = 'wagehood.session';
const REFRESH_AT = 0.8; // renew after 80% of the token's life

let apiKey = null;
let timer = null;
const logoutListeners = new Set();

export class ApiError extends Error {
  constructor(status, type, message, field, body) {
    super(message);
    this.status = status;
    this.type = type;
    this.field = field;
    this.body = body;
  }
}

function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE) || 'null');
  } catch {
    return null;
  }
}

export function token() {
  const session = saved();
  return session && session.expiresAt > Date.now() ? session.token : null;
}

export async function login(key) {
  apiKey = key;
  try {
    await renew();
  } catch (error) {
    apiKey = null;
    throw error;
  }
}

async function renew() {
  const response = await fetch('/api/v1/auth/token', {
    method: 'POST',
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  const body = await parse(response);
  const expiresAt = Date.now() + (body.expires_in - 1) * 1000; // the server's clock is in whole seconds
  sessionStorage.setItem(STORAGE, JSON.stringify({ token: body.access_token, expiresAt }));
  schedule(body.expires_in * REFRESH_AT * 1000, () =>
    renew().catch(() => logout('Your session could not be renewed; log in again.')),
  );
}

function schedule(delay, action) {
  clearTimeout(timer);
  timer = setTimeout(action, Math.max(1000, delay));
}

// After a reload: keep a still-valid token (the key is gone, so it ends at its expiry).
export function resume() {
  const session = saved();
  if (!session || session.expiresAt < Date.now() + 5000) return false;
  schedule(session.expiresAt - Date.now() - 2000, () =>
    logout('Your session expired; log in again with your API key.'),
  );
  return true;
}

export function logout(reason = '') {
  const wasIn = apiKey !== null || saved() !== null;
  apiKey = null;
  clearTimeout(timer);
  sessionStorage.removeItem(STORAGE);
  if (wasIn) logoutListeners.forEach((listener) => listener(reason));
}

export function onLogout(listener) {
  logoutListeners.add(listener);
}

export async function request(method, path, body) {
  const current = token();
  if (!current) {
    logout('Your session expired; log in again.');
    throw new ApiError(401, 'unauthorized', 'not logged in');
  }
  const init = { method, headers: { Authorization: `Bearer ${current}` } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 401) logout('Your session is no longer valid; log in again.');
  return parse(response);
}

export const get = (path) => request('GET', path);

// GET that answers null for a 404 (a symbol without any state yet).
export async function getOrNull(path) {
  try {
    return await get(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body && body.error) || {};
    const message = error.message || `HTTP ${response.status}`;
    throw new ApiError(response.status, error.type || 'http_error', message, error.field, body);
  }
  return body;
}

// A sentence for the user, saying what went wrong and what to do.
export function explain(error, doing) {
  if (!(error instanceof ApiError)) return `Could not ${doing}: ${error.message || error}`;
  if (error.status === 403) return `Could not ${doing}: ${error.message.replace(/\.?$/, '.')}`;
  if (error.status === 429) return `Could not ${doing}: too many requests, try again shortly.`;
  if (error.status === 503) return `Could not ${doing}: the service is unavailable (${error.message}).`;
  return `Could not ${doing}: ${error.message}`;
}
