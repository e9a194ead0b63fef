// The symbol view: history from the historical endpoint, the in-progress bar from `latest`,
// signals and alerts as markers, then live bars, closed bars with indicators, and signals.

import { explain, get, getOrNull } from './api.js';
import { ChartDrawing, columnKinds } from './chart.js';
import { el, epoch, nowSeconds, price, timeframeSeconds, utc } from './format.js';

const HISTORY_BARS = 500;
const ALERT_COLOR = '#9a6700';

export class SymbolView {
  constructor({ live, config, notify, navigate, onSymbol, lifetime }) {
    Object.assign(this, { config, notify, navigate, onSymbol });
    this.container = document.getElementById('chart');
    this.form = document.getElementById('chart-controls');
    this.symbol = null;
    this.timeframe = null;
    this.reset();
    live.addEventListener('bar', (event) => this.onBar(event.detail));
    live.addEventListener('indicators', (event) => this.onClosed(event.detail));
    live.addEventListener('signal', (event) => this.onSignal(event.detail));
    live.addEventListener('sync', (event) => this.onSync(event.detail));
    live.addEventListener('resync', () => this.symbol && this.open(this.symbol, this.timeframe, true));
    this.form.addEventListener('submit', (event) => event.preventDefault(), { signal: lifetime });
    this.form.addEventListener('change', (event) => {
      const { name } = event.target;
      if (name === 'symbol' || name === 'timeframe') {
        this.navigate(`#/symbol/${encodeURIComponent(this.form.symbol.value)}/${this.form.timeframe.value}`);
      } else this.draw();
    }, { signal: lifetime });
    lifetime.addEventListener('abort', () => this.close());
    this.form.timeframe.replaceChildren(...config.timeframes.map((tf) => el('option', { value: tf }, tf)));
  }

  close() {
    if (this.drawing) this.drawing.remove();
    this.drawing = null;
    this.symbol = null;
    this.loading = null;
  }

  reset() {
    this.bars = new Map();
    this.signals = new Map();
    this.alerts = [];
    this.updates = 0;
    this.sync = null;
  }

  // The symbols offered in the picker: the watchlist, plus the one shown.
  setChoices(symbols) {
    const all = [...new Set([...symbols, ...(this.symbol ? [this.symbol] : [])])].sort();
    this.form.symbol.replaceChildren(...all.map((s) => el('option', { value: s }, s)));
    if (this.symbol) this.form.symbol.value = this.symbol;
  }

  async open(symbol, timeframe, force = false) {
    const tf = this.config.timeframes.includes(timeframe) ? timeframe : this.config.timeframes[0];
    if (!force && symbol === this.symbol && tf === this.timeframe && this.drawing) return;
    this.symbol = symbol;
    this.timeframe = tf;
    this.onSymbol(symbol);
    this.form.timeframe.value = tf;
    this.setChoices([...this.form.symbol.options].map((o) => o.value));
    document.getElementById('symbol-title').textContent = `${symbol} · ${tf}`;
    const load = (this.loading = {});
    this.reset();
    this.summary(`Loading ${symbol} ${tf}…`);
    try {
      const data = await this.fetch(symbol, tf);
      if (load !== this.loading) return;
      this.absorb(data);
    } catch (error) {
      this.notify(explain(error, `load the ${symbol} chart`));
    }
    this.draw();
  }

  async fetch(symbol, tf) {
    const sym = encodeURIComponent(symbol);
    const start = Math.floor(nowSeconds() - HISTORY_BARS * timeframeSeconds(tf));
    const [history, latest, signals, alerts] = await Promise.all([
      getOrNull(`/realtime/data/historical/${sym}?timeframe=${tf}&start=${start}&limit=1000`),
      getOrNull(`/realtime/data/latest/${sym}?timeframe=${tf}`),
      getOrNull(`/realtime/signals/${sym}?timeframe=${tf}&since=${start}&limit=500`),
      get('/realtime/monitor/alerts').catch(() => null),
    ]);
    return { history, latest, signals, alerts };
  }

  absorb({ history, latest, signals, alerts }) {
    for (const row of history ? history.bars : []) this.bars.set(row.epoch, toBar(row));
    this.sync = latest ? latest.sync || null : null;
    if (latest && latest.bar && latest.timeframe === this.timeframe) this.mergeBar(toBar(latest.bar));
    for (const signal of signals ? signals.signals : []) this.signals.set(signal.id, signal);
    const suffix = `:${this.symbol}`;
    const all = alerts ? [...alerts.alerts, ...(alerts.recent || [])] : [];
    this.alerts = all.filter((a) => typeof a.id === 'string' && a.id.endsWith(suffix) && a.first_seen);
  }

  mergeBar(bar) {
    const known = this.bars.get(bar.time);
    this.bars.set(bar.time, { ...bar, indicators: bar.indicators || (known && known.indicators) || null });
    return this.bars.get(bar.time);
  }

  get sortedBars() {
    return [...this.bars.values()].sort((a, b) => a.time - b.time);
  }

  get lastTime() {
    return this.bars.size ? Math.max(...this.bars.keys()) : 0;
  }

  draw() {
    if (this.drawing) this.drawing.remove();
    this.drawing = null;
    if (!this.symbol) return;
    const options = Object.fromEntries(['sma', 'ema', 'bb', 'rsi', 'macd'].map((n) => [n, this.form[n].checked]));
    this.drawing = new ChartDrawing(this.container, columnKinds(this.config.indicators), options);
    const bars = this.sortedBars;
    this.drawing.setData(bars);
    this.drawing.fit();
    this.refreshMarkers();
    const last = bars[bars.length - 1];
    const warming = syncNote(this.symbol, this.sync);
    this.container.dataset.sync = this.sync ? this.sync.state : '';
    if (warming) this.summary(warming);
    else {
      this.summary(bars.length
        ? `${this.symbol} ${this.timeframe}: ${bars.length} bars from ${utc(bars[0].time)} to ${utc(last.time)}, last close ${price(last.close)}.`
        : `No bars for ${this.symbol} ${this.timeframe} yet; the chart fills as data arrives.`);
    }
    this.touch();
  }

  // A warm-up or gap fill of the shown symbol was queued, started, ended or failed.
  onSync(data) {
    if (!data || data.symbol !== this.symbol) return;
    const wasWarm = !this.sync || this.sync.state === 'live';
    this.sync = data;
    if (data.state === 'live' && !wasWarm) this.open(this.symbol, this.timeframe, true);
    else this.draw();
  }

  // A live bar, closed or in progress; older than the last drawn bar is ignored.
  apply(bar) {
    if (this.bars.size && bar.time < this.lastTime) return;
    const merged = this.mergeBar(bar);
    this.updates += 1;
    if (this.drawing) this.drawing.update(merged);
    this.touch();
  }

  onBar(data) {
    if (data.symbol !== this.symbol || !data.bar) return;
    if (data.timeframe === this.timeframe) {
      this.apply(toBar(data.bar));
      return;
    }
    const length = timeframeSeconds(this.timeframe); // roll a longer bar up from the price
    const time = Math.floor(data.time / length) * length;
    const known = this.bars.get(time);
    this.apply(known
      ? { ...known, high: Math.max(known.high, data.price), low: Math.min(known.low, data.price), close: data.price }
      : { time, open: data.price, high: data.price, low: data.price, close: data.price, volume: 0 });
  }

  onClosed(data) {
    if (data.symbol !== this.symbol || data.timeframe !== this.timeframe || !data.bar) return;
    this.apply({ ...toBar(data.bar), indicators: data.indicators });
  }

  onSignal(signal) {
    if (signal.symbol !== this.symbol || signal.timeframe !== this.timeframe) return;
    this.signals.set(signal.id, signal);
    this.refreshMarkers();
  }

  refreshMarkers() {
    const markers = [...this.signals.values()].map(signalMarker);
    for (const alert of this.alerts) {
      const time = this.barAtOrBefore(alert.first_seen);
      if (time !== null) markers.push({ time, position: 'aboveBar', shape: 'circle', color: ALERT_COLOR, text: 'alert' });
    }
    markers.sort((a, b) => a.time - b.time);
    if (this.drawing) this.drawing.setMarkers(markers);
    this.container.dataset.markers = String(markers.length);
    this.renderTable();
  }

  barAtOrBefore(seconds) {
    const times = [...this.bars.keys()].filter((t) => t <= seconds);
    return times.length ? Math.max(...times) : null;
  }

  renderTable() {
    const rows = [
      ...[...this.signals.values()].map((s) => ({ time: s.time, kind: 'signal', side: s.signal_type, source: s.strategy, price: s.price, reason: s.reason })),
      ...this.alerts.map((a) => ({ time: a.first_seen, kind: `alert (${a.severity})`, side: '—', source: a.id, price: null, reason: a.message })),
    ].sort((a, b) => b.time - a.time);
    const body = document.querySelector('#chart-signals tbody');
    body.replaceChildren(...rows.map((r) => el('tr', { 'data-kind': r.kind },
      el('td', {}, utc(r.time)), el('td', {}, r.kind), el('td', { 'data-side': r.side }, r.side),
      el('td', {}, r.source), el('td', { class: 'num' }, price(r.price)), el('td', {}, r.reason))));
    if (!rows.length) body.append(el('tr', {}, el('td', { colspan: '6' }, 'No signals or alerts in this range.')));
  }

  touch() {
    const bars = this.sortedBars;
    const last = bars[bars.length - 1];
    Object.assign(this.container.dataset, {
      bars: String(bars.length), lastTime: String(last ? last.time : 0), lastClose: last ? String(last.close) : '',
      updates: String(this.updates),
    });
    const legend = document.getElementById('chart-legend');
    if (!last) legend.textContent = '';
    else {
      const values = Object.entries((bars.filter((b) => b.indicators).pop() || {}).indicators || {})
        .filter(([, v]) => v !== null).map(([k, v]) => `${k} ${price(v)}`);
      legend.textContent = `Last ${utc(last.time)}: O ${price(last.open)} H ${price(last.high)} L ${price(last.low)} C ${price(last.close)}. ${values.join(' · ')}`;
    }
  }

  summary(text) {
    document.getElementById('chart-summary').textContent = text;
    this.container.setAttribute('aria-label', `Candlestick chart of ${this.symbol || 'no symbol'}`);
  }
}

// The note shown instead of an empty chart while the symbol's history is loading.
function syncNote(symbol, sync) {
  if (!sync || sync.state === 'live') return '';
  const percent = `${Math.round((sync.progress || 0) * 100)}%`;
  if (sync.state === 'failed') return `Loading ${symbol}'s history failed: ${sync.error}. Live data is shown; it is tried again later.`;
  if (sync.state === 'retrying') return `Loading ${symbol}'s history failed (${sync.error}); retrying at ${utc(sync.retry_at)}…`;
  if (sync.state === 'queued') return `${symbol}'s history is queued to load; the chart appears when it is warm.`;
  const what = sync.reason === 'gap' ? 'Filling the gap in' : 'Loading';
  return `${what} ${symbol}'s history: ${percent} (${sync.bars_done} of ${sync.bars_total} bars)…`;
}

function toBar(row) {
  const bar = { time: epoch(row.epoch ?? row.time), open: row.open, high: row.high, low: row.low, close: row.close, volume: row.volume };
  if (row.indicators) bar.indicators = row.indicators;
  return bar;
}

function signalMarker(signal) {
  const buy = signal.side === 'buy';
  return {
    time: signal.time,
    position: buy ? 'belowBar' : 'aboveBar',
    shape: buy ? 'arrowUp' : 'arrowDown',
    color: buy ? '#1a7f37' : '#cf222e',
    text: buy ? 'BUY' : 'SELL',
  };
}
