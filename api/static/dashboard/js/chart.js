// Drawing with the vendored lightweight-charts: candles and volume, SMA/EMA/Bollinger overlays,
// RSI and MACD panes, and signal/alert markers. Knows nothing of the API.

import {
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  LineSeries,
  LineStyle,
  createChart,
  createSeriesMarkers,
} from '../vendor/lightweight-charts.standalone.production.mjs';

const UP = '#1a7f37';
const DOWN = '#cf222e';
const LINE_COLORS = {
  sma: ['#0550ae', '#8250df', '#0a3069'],
  ema: ['#bc4c00', '#953800', '#7d4e00'],
  bbands: ['#57606a'],
  rsi: ['#8250df'],
  macd: ['#0550ae', '#bc4c00'],
};

// Column kinds from the indicator config: {name: "macd(12,26,9)"} -> macd, macd_signal, macd_hist.
export function columnKinds(indicatorSpecs) {
  const kinds = {};
  for (const [name, spec] of Object.entries(indicatorSpecs)) {
    const kind = String(spec).split('(')[0].trim().toLowerCase();
    if (kind === 'bbands') ['upper', 'middle', 'lower'].forEach((p) => (kinds[`${name}_${p}`] = 'bbands'));
    else if (kind === 'macd') {
      kinds[name] = 'macd';
      kinds[`${name}_signal`] = 'macd';
      kinds[`${name}_hist`] = 'macd_hist';
    } else kinds[name] = kind;
  }
  return kinds;
}

const OVERLAY_TOGGLE = { sma: 'sma', ema: 'ema', bbands: 'bb' };
const PANE_TOGGLE = { rsi: 'rsi', macd: 'macd', macd_hist: 'macd' };

export class ChartDrawing {
  // `options`: {sma, ema, bb, rsi, macd} booleans; `kinds`: from columnKinds().
  constructor(container, kinds, options) {
    this.kinds = kinds;
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#ffffff' },
        textColor: '#1f2328',
        fontSize: 12,
        attributionLogo: false, // it injects an inline <style>; the footer credits TradingView
      },
      grid: { vertLines: { color: '#eaeef2' }, horzLines: { color: '#eaeef2' } },
      rightPriceScale: { borderColor: '#d0d7de' },
      timeScale: { borderColor: '#d0d7de', timeVisible: true, secondsVisible: false },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN,
      wickUpColor: UP, wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: 'volume' }, priceScaleId: 'volume', lastValueVisible: false, priceLineVisible: false,
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.markers = createSeriesMarkers(this.candles, []);
    this.lines = new Map();
    this.addIndicatorSeries(options);
  }

  addIndicatorSeries(options) {
    const panes = {}; // RSI above MACD, each only when shown
    let nextPane = 1;
    for (const name of ['rsi', 'macd']) {
      if (options[name] && Object.values(this.kinds).some((kind) => PANE_TOGGLE[kind] === name)) panes[name] = nextPane++;
    }
    const shown = Object.entries(this.kinds)
      .filter(([, kind]) => (OVERLAY_TOGGLE[kind] ? options[OVERLAY_TOGGLE[kind]] : panes[PANE_TOGGLE[kind]]))
      .map(([column, kind]) => ({ column, kind, pane: panes[PANE_TOGGLE[kind]] || 0 }))
      // panes must be created in order; a histogram goes under the lines of its pane
      .sort((a, b) => a.pane - b.pane || (b.kind === 'macd_hist') - (a.kind === 'macd_hist'));
    const used = {};
    for (const { column, kind, pane } of shown) {
      const palette = LINE_COLORS[kind] || LINE_COLORS.macd;
      used[kind] = (used[kind] || 0) + 1;
      this.lines.set(column, this.addLine(column, kind, palette[(used[kind] - 1) % palette.length], pane));
    }
    this.chart.panes().forEach((pane, index) => pane.setStretchFactor(index === 0 ? 3 : 1));
  }

  addLine(column, kind, color, pane) {
    const common = { title: column, lastValueVisible: false, priceLineVisible: false };
    if (kind === 'macd_hist') {
      return this.chart.addSeries(HistogramSeries, { ...common, color: '#8c959f' }, pane);
    }
    const dashed = kind === 'bbands' && !column.endsWith('_middle');
    const series = this.chart.addSeries(LineSeries, {
      ...common, color, lineWidth: kind === 'bbands' ? 1 : 2,
      lineStyle: dashed ? LineStyle.Dashed : LineStyle.Solid,
    }, pane);
    if (kind === 'rsi') {
      for (const level of [70, 30]) {
        series.createPriceLine({ price: level, color: '#8c959f', lineWidth: 1, lineStyle: LineStyle.Dotted, axisLabelVisible: true, title: '' });
      }
    }
    return series;
  }

  // `bars`: sorted [{time, open, high, low, close, volume, indicators}].
  setData(bars) {
    this.candles.setData(bars.map(candle));
    this.volume.setData(bars.map(volumeBar));
    for (const [column, series] of this.lines) {
      series.setData(bars.filter((b) => value(b, column) !== null).map((b) => point(b, column)));
    }
  }

  // A bar at or after the last one drawn (an in-progress revision or a new bar).
  update(bar) {
    this.candles.update(candle(bar));
    this.volume.update(volumeBar(bar));
    for (const [column, series] of this.lines) {
      if (value(bar, column) !== null) series.update(point(bar, column));
    }
  }

  setMarkers(markers) {
    this.markers.setMarkers(markers);
  }

  fit() {
    this.chart.timeScale().fitContent();
  }

  remove() {
    this.chart.remove();
  }
}

function candle(bar) {
  return { time: bar.time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
}

function volumeBar(bar) {
  return { time: bar.time, value: bar.volume || 0, color: bar.close >= bar.open ? '#1a7f3766' : '#cf222e66' };
}

function value(bar, column) {
  const v = bar.indicators ? bar.indicators[column] : undefined;
  return v === undefined || v === null ? null : v;
}

function point(bar, column) {
  const v = value(bar, column);
  if (column.endsWith('_hist')) return { time: bar.time, value: v, color: v >= 0 ? '#1a7f3799' : '#cf222e99' };
  return { time: bar.time, value: v };
}
