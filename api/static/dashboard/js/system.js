// The system view: health, alerts and stats from the monitor endpoints, refreshed while shown.

import { ApiError, explain, get } from './api.js';
import { el, utc } from './format.js';

const REFRESH_MS = 5000;

export class SystemView {
  constructor({ notify }) {
    this.notify = notify;
    this.timer = null;
  }

  show() {
    this.hide();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh() {
    const [health, stats, alerts] = await Promise.allSettled([
      get('/realtime/monitor/health?detailed=true'),
      get('/realtime/monitor/stats'),
      get('/realtime/monitor/alerts'),
    ]);
    // health answers 503 with its body when the system is down: still worth showing
    const healthBody = health.status === 'fulfilled' ? health.value : downBody(health.reason);
    this.renderHealth(healthBody);
    if (alerts.status === 'fulfilled') this.renderAlerts(alerts.value);
    if (stats.status === 'fulfilled') this.renderStats(stats.value);
    const failed = [stats, alerts].find((r) => r.status === 'rejected');
    if (failed) this.notify(explain(failed.reason, 'load the monitor figures'));
    document.getElementById('system-updated').textContent = `Updated ${utc(Date.now() / 1000)}`;
  }

  renderHealth(body) {
    const badge = document.getElementById('health-status');
    badge.textContent = body ? body.status : 'unknown';
    // the Redis condition behind other failures: fix Redis, restart nothing
    if (body && body.cause) badge.textContent += ` — ${body.cause}`;
    badge.dataset.state = body ? body.status : 'unknown';
    const rows = Object.entries((body && body.components) || {}).map(([name, check]) =>
      el('tr', {},
        el('th', { scope: 'row' }, name),
        el('td', { 'data-state': check.status }, check.status || '—'),
        el('td', {}, details(check))));
    document.querySelector('#health-table tbody').replaceChildren(...rows);
  }

  renderAlerts(body) {
    const rows = body.alerts.map((alert) =>
      el('tr', { 'data-severity': alert.severity },
        el('td', {}, alert.severity), el('td', {}, alert.message || alert.id),
        el('td', {}, alert.first_seen ? utc(alert.first_seen) : '—')));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: '3' }, 'No active alerts.')));
    document.querySelector('#alerts-table tbody').replaceChildren(...rows);
  }

  renderStats(body) {
    const items = [];
    for (const [name, value] of Object.entries(body)) {
      if (name === 'tasks') continue; // per-task histograms: see /metrics
      items.push(el('div', { class: 'stat' }, el('dt', {}, label(name)), el('dd', {}, summarize(value))));
    }
    document.getElementById('stats').replaceChildren(...items);
  }
}

function downBody(error) {
  if (error instanceof ApiError && error.body && error.body.status) return error.body;
  return { status: 'unreachable', components: {} };
}

function details(check) {
  return Object.entries(check)
    .filter(([key]) => key !== 'status')
    .map(([key, value]) => `${key}: ${summarize(value)}`)
    .join(', ');
}

function label(name) {
  return name.replace(/_/g, ' ');
}

// One line for any JSON value: numbers rounded, objects as "key value" pairs.
function summarize(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (Array.isArray(value)) return value.length ? value.map(summarize).join(', ') : 'none';
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? entries.map(([k, v]) => `${k} ${summarize(v)}`).join(' · ') : 'none';
  }
  return String(value);
}
