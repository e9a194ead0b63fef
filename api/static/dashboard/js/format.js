// Formatting and small DOM helpers shared by the views. Text is always set as text, never HTML.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function price(value) {
  if (value === null || value === undefined) return '—';
  const digits = Math.abs(value) >= 1000 ? 2 : Math.abs(value) >= 1 ? 2 : 4;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function signed(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const sign = value > 0 ? '+' : value < 0 ? '−' : '±';
  return `${sign}${Math.abs(value).toFixed(digits)}`;
}

export function age(seconds) {
  if (seconds === null || seconds === undefined) return 'no data yet';
  if (seconds < 1) return 'just now';
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

// "fresh" within two update intervals of a 1 s beat, "late" within a minute, else "stale".
export function freshness(seconds) {
  if (seconds === null || seconds === undefined) return 'none';
  if (seconds <= 10) return 'fresh';
  if (seconds <= 60) return 'late';
  return 'stale';
}

export function utc(epochSeconds) {
  if (epochSeconds === null || epochSeconds === undefined) return '—';
  return new Date(epochSeconds * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function nowSeconds() {
  return Date.now() / 1000;
}

export function timeframeSeconds(timeframe) {
  const match = /^(\d+)([mhd])$/.exec(timeframe);
  if (!match) return 60;
  return Number(match[1]) * { m: 60, h: 3600, d: 86400 }[match[2]];
}

export function signalText(signal) {
  if (!signal) return 'none';
  return `${signal.signal_type} · ${signal.strategy} · ${signal.timeframe} · ${utc(signal.time)}`;
}

// Bars carry ISO 8601 times ("2024-06-01T00:00:00Z"); charts want epoch seconds.
export function epoch(time) {
  return typeof time === 'number' ? time : Math.round(Date.parse(time) / 1000);
}
