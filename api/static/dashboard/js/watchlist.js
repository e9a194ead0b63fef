// The watchlist view: symbol, last price, change, freshness and latest signal, updated live;
// add and remove symbols (the API answers 403 to a key without `write`, shown as such).

import { ApiError, explain, get, getOrNull, request } from './api.js';
import { age, el, epoch, freshness, nowSeconds, price, signalText, signed, timeframeSeconds } from './format.js';

export class Watchlist {
  constructor({ live, config, notify, onChange, lifetime }) {
    this.config = config;
    this.notify = notify;
    this.onChange = onChange;
    this.rows = new Map();
    this.body = document.querySelector('#watchlist-table tbody');
    this.status = document.getElementById('add-status');
    live.addEventListener('bar', (event) => this.onBar(event.detail));
    live.addEventListener('signal', (event) => this.onSignal(event.detail));
    live.addEventListener('sync', (event) => this.onSync(event.detail));
    document.getElementById('add-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.add();
    }, { signal: lifetime });
    const clock = setInterval(() => this.rows.forEach((row) => this.showAge(row)), 1000);
    lifetime.addEventListener('abort', () => clearInterval(clock));
  }

  get symbols() {
    return [...this.rows.keys()];
  }

  // The change column compares with the open of the current bar of the longest timeframe.
  get sessionTimeframe() {
    return this.config.timeframes[this.config.timeframes.length - 1];
  }

  async load() {
    const list = await get('/realtime/config/watchlist');
    const rows = await Promise.all(list.symbols.map((entry) => this.fetchRow(entry)));
    this.rows = new Map(rows.map((row) => [row.symbol, row]));
    document.getElementById('change-head').textContent = `Change (${this.sessionTimeframe} bar)`;
    this.render();
    this.onChange(this.symbols);
  }

  async fetchRow(entry) {
    const symbol = encodeURIComponent(entry.symbol);
    const [latest, signals] = await Promise.all([
      getOrNull(`/realtime/data/latest/${symbol}?timeframe=${this.sessionTimeframe}`),
      getOrNull(`/realtime/signals/${symbol}?limit=1`),
    ]);
    const bar = latest && latest.bar;
    return {
      symbol: entry.symbol,
      price: latest ? latest.price : null,
      time: latest ? latest.time : null,
      open: bar ? bar.open : null,
      bucket: bar ? epoch(bar.time) : null,
      signal: signals && signals.signals.length ? signals.signals[signals.signals.length - 1] : null,
      sync: entry.sync || null,
    };
  }

  render() {
    this.body.replaceChildren(...[...this.rows.values()].map((row) => this.renderRow(row)));
    document.getElementById('watchlist-empty').hidden = this.rows.size > 0;
  }

  renderRow(row) {
    const chart = `#/symbol/${encodeURIComponent(row.symbol)}/${this.config.timeframes[0]}`;
    const remove = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${row.symbol} from the watchlist` }, 'Remove');
    remove.addEventListener('click', () => this.remove(row.symbol));
    row.cells = {
      price: el('td', { class: 'num', 'data-field': 'price' }),
      change: el('td', { class: 'num', 'data-field': 'change' }),
      age: el('span', { class: 'badge' }),
      signal: el('td', { 'data-field': 'signal' }),
    };
    const tr = el('tr', { 'data-symbol': row.symbol },
      el('th', { scope: 'row' }, el('a', { href: chart, title: `Open the ${row.symbol} chart` }, row.symbol)),
      row.cells.price, row.cells.change, el('td', { 'data-field': 'freshness' }, row.cells.age),
      row.cells.signal, el('td', {}, remove));
    row.tr = tr;
    this.update(row);
    return tr;
  }

  update(row) {
    const { cells } = row;
    if (!cells) return;
    cells.price.textContent = price(row.price);
    const change = row.price !== null && row.open ? row.price - row.open : null;
    const percent = change !== null ? (100 * change) / row.open : null;
    cells.change.textContent = change === null ? '—' : `${signed(change)} (${signed(percent)}%)`;
    cells.change.dataset.direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
    cells.signal.textContent = signalText(row.signal);
    cells.signal.dataset.side = row.signal ? row.signal.side : 'none';
    if (row.tr && row.time !== null) row.tr.dataset.time = String(row.time);
    this.showAge(row);
  }

  showAge(row) {
    if (!row.cells) return;
    const { sync } = row;
    if (sync && sync.state !== 'live') { // the history is loading: say so rather than "stale"
      const failed = sync.state === 'failed' || sync.state === 'retrying';
      row.cells.age.textContent = failed
        ? `history failed: ${sync.error}`
        : `warming up ${Math.round((sync.progress || 0) * 100)}%`;
      row.cells.age.dataset.state = failed ? 'failed' : 'warming';
      return;
    }
    const seconds = row.time === null ? null : Math.max(0, nowSeconds() - row.time);
    row.cells.age.textContent = age(seconds);
    row.cells.age.dataset.state = freshness(seconds);
  }

  onSync(data) {
    const row = this.rows.get(data.symbol);
    if (!row) return;
    row.sync = data;
    this.showAge(row);
  }

  onBar(data) {
    const row = this.rows.get(data.symbol);
    if (!row) return;
    const length = timeframeSeconds(this.sessionTimeframe);
    const bucket = Math.floor(data.time / length) * length;
    if (row.bucket === null || bucket > row.bucket) {
      row.bucket = bucket;
      row.open = data.price;
    }
    row.price = data.price;
    row.time = data.time;
    this.update(row);
  }

  onSignal(signal) {
    const row = this.rows.get(signal.symbol);
    if (!row || (row.signal && row.signal.time > signal.time)) return;
    row.signal = signal;
    this.update(row);
  }

  async add() {
    const symbolInput = document.getElementById('add-symbol');
    const symbol = symbolInput.value.trim().toUpperCase();
    const provider = document.getElementById('add-provider').value;
    if (!symbol) return;
    this.status.textContent = `Adding ${symbol}…`;
    try {
      await request('POST', '/realtime/config/watchlist/add', provider ? { symbol, data_provider: provider } : { symbol });
      symbolInput.value = '';
      await this.load();
      this.status.textContent = `Added ${symbol}.`;
    } catch (error) {
      this.status.textContent = '';
      this.notify(explain(error, `add ${symbol}`));
      if (error instanceof ApiError && error.status === 422) symbolInput.focus();
    }
  }

  async remove(symbol) {
    try {
      await request('DELETE', `/realtime/config/watchlist/${encodeURIComponent(symbol)}`);
      await this.load();
      this.status.textContent = `Removed ${symbol}.`;
    } catch (error) {
      this.notify(explain(error, `remove ${symbol}`));
    }
  }
}
