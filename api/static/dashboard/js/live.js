// One WebSocket for the page. It subscribes the symbols the views need, dispatches the
// server's frames as events ("bar", "indicators", "signal") and, after a drop, reconnects with
// a fresh token and `since_seq` so that nothing is missed or seen twice. The server closes
// with 4401 when the socket's token expired (reconnect at once with the renewed token) or
// its key was revoked (stop, and say why through an "unauthorized" event).

const UPDATE_TYPES = new Set(['bar', 'indicators', 'signal', 'sync']);
const PING_MS = 20000;
const MAX_BACKOFF_MS = 15000;
const AUTH_LAPSED = 4401;

export class Live extends EventTarget {
  constructor(tokenSource) {
    super();
    this.tokenSource = tokenSource;
    this.symbols = new Set();
    this.seq = null;
    this.ws = null;
    this.stopped = true;
    this.failures = 0;
    this.timers = [];
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.timers.forEach(clearTimeout);
    this.timers.forEach(clearInterval);
    this.timers = [];
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'logged out');
    this.seq = null;
    this.symbols.clear();
    this.setState('offline');
  }

  // Subscribe to exactly `wanted` (an iterable of symbols).
  follow(wanted) {
    const next = new Set(wanted);
    const added = [...next].filter((s) => !this.symbols.has(s));
    const removed = [...this.symbols].filter((s) => !next.has(s));
    this.symbols = next;
    if (!this.isOpen()) return;
    if (added.length) this.send({ action: 'subscribe', symbols: added, include_indicators: true });
    if (removed.length) this.send({ action: 'unsubscribe', symbols: removed });
  }

  isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    this.ws.send(JSON.stringify(message));
  }

  connect() {
    const token = this.tokenSource();
    if (this.stopped || !token) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const id = `dashboard-${Math.random().toString(36).slice(2, 10)}`;
    const url = `${scheme}://${location.host}/api/v1/realtime/ws/${id}?token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.setState('connecting');
    ws.addEventListener('open', () => this.opened(ws));
    ws.addEventListener('message', (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener('close', (event) => this.closed(ws, event));
  }

  opened(ws) {
    if (ws !== this.ws) return;
    this.failures = 0;
    this.setState('live');
    if (this.symbols.size) {
      const message = { action: 'subscribe', symbols: [...this.symbols], include_indicators: true };
      if (this.seq !== null) message.since_seq = this.seq;
      this.send(message);
    }
    this.timers.push(setInterval(() => this.isOpen() && this.send({ action: 'ping' }), PING_MS));
  }

  receive(frame) {
    if (UPDATE_TYPES.has(frame.type)) {
      if (this.seq !== null && frame.seq <= this.seq) return;
      this.seq = frame.seq;
    } else if (frame.type === 'error' && frame.data && frame.data.code === 'replay_gap') {
      this.dispatchEvent(new CustomEvent('resync'));
    }
    this.dispatchEvent(new CustomEvent(frame.type, { detail: frame.data }));
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    if (this.stopped) return;
    const lapsed = event.code === AUTH_LAPSED;
    if (lapsed && (event.reason.includes('revoked') || !this.tokenSource())) {
      this.setState('offline', event.reason);
      this.dispatchEvent(new CustomEvent('unauthorized', { detail: event.reason }));
      return;
    }
    this.failures += 1;
    const delay = lapsed ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures);
    this.setState('reconnecting', event.reason);
    this.timers.push(setTimeout(() => this.connect(), delay));
  }

  setState(state, reason = '') {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, reason } }));
  }
}
