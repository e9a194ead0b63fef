// The dashboard's entry point: login, the session's views and hash routing
// (#/watchlist, #/symbol/SPY/1m, #/system). Nothing is shown or fetched without a token.

import * as api from './api.js';
import { Live } from './live.js';
import { SymbolView } from './symbol.js';
import { SystemView } from './system.js';
import { Watchlist } from './watchlist.js';

const VIEWS = ['login', 'watchlist', 'symbol', 'system'];
const $ = (id) => document.getElementById(id);
let session = null; // {live, watchlist, symbol, system, lifetime}

function show(name) {
  const changed = $(`${name}-view`).hidden;
  for (const view of VIEWS) $(`${view}-view`).hidden = view !== name;
  if (changed && name !== 'login') $(`${name}-title`).focus(); // say where we are
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function notify(message) {
  $('notice-text').textContent = message;
  $('notice').hidden = false;
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (!session) {
    show('login');
    $('api-key').focus();
    return;
  }
  const [view, symbol, timeframe] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  session.system.hide();
  if (view === 'symbol') {
    const chosen = symbol || session.symbol.symbol || session.watchlist.symbols[0];
    if (!chosen) {
      notify('Add a symbol to the watchlist first, then open its chart.');
      navigate('#/watchlist');
      return;
    }
    show('symbol');
    session.symbol.open(chosen.toUpperCase(), timeframe);
  } else if (view === 'system') {
    show('system');
    session.system.show();
  } else {
    const returning = $('watchlist-view').hidden;
    show('watchlist');
    // Coming back refreshes the rows: a live frame can be missed while a symbol is being
    // subscribed (one just added, whose warm-up signalled before the page followed it).
    if (returning) {
      session.watchlist.load().catch((error) => notify(api.explain(error, 'refresh the watchlist')));
    }
  }
}

async function start() {
  const [system, indicators] = await Promise.all([
    api.get('/realtime/config/system'),
    api.get('/realtime/config/indicators'),
  ]);
  const config = { timeframes: system.system.timeframes, indicators: indicators.indicators };
  const lifetime = new AbortController();
  const live = new Live(api.token);
  let charted = null;
  const follow = () => live.follow([...session.watchlist.symbols, ...(charted ? [charted] : [])]);
  session = {
    live,
    lifetime,
    watchlist: new Watchlist({
      live, config, notify, lifetime: lifetime.signal,
      onChange: (symbols) => {
        session.symbol.setChoices(symbols);
        follow();
      },
    }),
    symbol: new SymbolView({
      live, config, notify, navigate, lifetime: lifetime.signal,
      onSymbol: (symbol) => {
        charted = symbol;
        follow();
      },
    }),
    system: new SystemView({ notify }),
  };
  live.addEventListener('state', (event) => showLiveState(event.detail));
  live.addEventListener('unauthorized', (event) => api.logout(`Live updates ended: ${event.detail}`));
  live.start();
  $('nav').hidden = false;
  $('session').hidden = false;
  await session.watchlist.load();
  route();
}

function showLiveState({ state, reason }) {
  const status = $('live-status');
  status.dataset.state = state;
  status.textContent = `Live: ${state}${reason ? ` (${reason})` : ''}`;
}

function stop(reason) {
  if (session) {
    session.lifetime.abort();
    session.live.stop();
    session.system.hide();
    session = null;
  }
  $('nav').hidden = true;
  $('session').hidden = true;
  $('login-error').textContent = reason || '';
  route();
}

async function submitLogin(event) {
  event.preventDefault();
  const input = $('api-key');
  const key = input.value.trim();
  if (!key) return;
  $('login-error').textContent = '';
  try {
    await api.login(key);
    input.value = '';
    await start();
  } catch (error) {
    if (api.token()) api.logout();
    const refused = error instanceof api.ApiError && error.status === 401;
    $('login-error').textContent = refused ? 'That API key was not accepted.' : api.explain(error, 'log in');
  }
}

function init() {
  $('login-form').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', () => api.logout(''));
  $('notice-close').addEventListener('click', () => ($('notice').hidden = true));
  window.addEventListener('hashchange', route);
  api.onLogout(stop);
  if (api.resume()) start().catch((error) => api.logout(api.explain(error, 'resume the session')));
  else route();
}

init();
