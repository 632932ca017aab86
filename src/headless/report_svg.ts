/**
 * The report's SVG chart (report.ts builds the series, this draws them): accuracy against mean thinking tokens with
 * ±1 standard-error bars, level labels placed to avoid overlaps, a legend and the oracle frontier, plus the XML and
 * Markdown escaping every text taken from a file goes through. Pure: no DOM, no Node APIs.
 */
import type { LengthTag } from '../tasks/types';
import type { FrontierPoint } from '../train/oracle';
import type { MarkerShape, ReportSeries } from './report';

// ---------------------------------------------------------------------------------------------------------------
// Escaping

/** Replaces what XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): one makes an SVG fail. */
function xmlChars(text: string): string {
  let out = '';
  for (const ch of text) {
    // for…of walks code points; a lone surrogate comes out on its own, in D800–DFFF.
    const c = ch.codePointAt(0)!;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    out += ok ? ch : '\uFFFD';
  }
  return out;
}

/** Text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return xmlChars(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Text for a Markdown line or table cell: no HTML, code, emphasis, links, headings or cell breaks. */
export function escapeMarkdown(text: string): string {
  return xmlChars(text.replace(/[\r\n\t]+/g, ' '))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .trimStart()
    .replace(/^[#+=-]/, '\\$&');
}

/** Shortens text to `maxChars` with an ellipsis (whole code points). */
function clip(text: string, maxChars: number): string {
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

// ---------------------------------------------------------------------------------------------------------------
// Chart

export interface ChartOptions {
  title: string;
  /** One or more lines under the title (adapter, wall time, …). */
  subtitle?: string | readonly string[];
  /** Default 1040. */
  widthPx?: number;
  /** Default 640 (grows to fit a long legend). */
  heightPx?: number;
  /** Oracle stopping frontiers (src/train/oracle.ts) drawn under the method curves: a dashed line over a band. */
  frontiers?: readonly ChartFrontier[];
}

/** A frontier on the chart: accuracy (fraction) against mean thinking tokens, with its legend text. */
export interface ChartFrontier {
  label: string;
  points: readonly FrontierPoint[];
}

/** The frontier's colour: neutral, so it never reads as a method. */
export const FRONTIER_COLOR = '#7f7f7f';

export interface Ticks {
  min: number;
  max: number;
  step: number;
  values: number[];
  /** Decimals that print every tick exactly. */
  decimals: number;
}

/** Round ticks covering [lo, hi]: a step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals. */
export function niceTicks(lo: number, hi: number, target = 6): Ticks {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return niceTicks(lo - pad, hi + pad, target);
  }
  const raw = (hi - lo) / target;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const mantissa = [1, 2, 2.5, 5, 10].find((m) => m * base >= raw * (1 - 1e-9)) ?? 10;
  const step = mantissa * base;
  const decimals = Math.max(0, -exp + (mantissa === 2.5 ? 1 : 0) - (mantissa === 10 ? 1 : 0));
  const k0 = Math.floor(lo / step + 1e-9);
  const k1 = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let k = k0; k <= k1; k++) values.push(Number((k * step).toFixed(decimals)));
  return { min: values[0]!, max: values[values.length - 1]!, step, values, decimals };
}

export interface ChartLayout {
  widthPx: number;
  heightPx: number;
  /** The plot area in SVG pixels. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** x: mean thinking tokens. */
  xTicks: Ticks;
  /** y: accuracy in percent. */
  yTicks: Ticks;
  legend: { left: number; top: number; widthPx: number; rowPx: number };
  /** SVG x of a thinking-token count. */
  x(tokens: number): number;
  /** SVG y of an accuracy in percent. */
  y(accuracyPct: number): number;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const TITLE_PX = 18;
const SUBTITLE_PX = 12;
const TICK_PX = 12;
const LEGEND_PX = 12;
/** Average advance of a sans-serif character, in em: sizes the legend without measuring text. */
const CHAR_EM = 0.58;
const LEGEND_MAX_CHARS = 64;

function subtitleLines(o: ChartOptions): string[] {
  if (o.subtitle === undefined) return [];
  return typeof o.subtitle === 'string' ? [o.subtitle] : [...o.subtitle];
}

function legendText(s: ReportSeries): string {
  return clip(`${s.seriesLabel} (${s.sweep})`, LEGEND_MAX_CHARS);
}

type LegendRow = { kind: 'run'; text: string } | { kind: 'series'; series: ReportSeries };

/** Legend rows: with several runs, each run's name heads the list of its series. */
function legendRows(series: readonly ReportSeries[]): LegendRow[] {
  const runs = [...new Set(series.map((s) => s.runName))];
  if (runs.length <= 1) return series.map((s) => ({ kind: 'series', series: s }));
  return runs.flatMap((name): LegendRow[] => [
    { kind: 'run', text: clip(name, LEGEND_MAX_CHARS) },
    ...series.filter((s) => s.runName === name).map((s): LegendRow => ({ kind: 'series', series: s })),
  ]);
}

/** Where everything goes: pure function of the series and options (the tests check the SVG against it). */
export function chartLayout(series: readonly ReportSeries[], options: ChartOptions): ChartLayout {
  const widthPx = options.widthPx ?? 1040;
  const points = series.flatMap((s) => s.points);
  const fronts = (options.frontiers ?? []).flatMap((f) => f.points);
  const xMax = Math.max(
    0,
    ...points.map((p) => p.point.meanThinkingTokens),
    ...fronts.map((f) => f.meanThinkingTokens),
  );
  const xTicks = niceTicks(0, xMax > 0 ? xMax : 1, 7);
  const yLo = Math.min(...points.map((p) => p.barLowPct));
  const yHi = Math.max(...points.map((p) => p.barHighPct), ...fronts.map((f) => 100 * f.accuracy));
  const yTicks =
    points.length === 0 ? niceTicks(0, 100, 5) : niceTicks(Math.max(0, yLo), Math.min(100, Math.max(yHi, yLo)), 6);

  const rows = legendRows(series);
  for (const f of options.frontiers ?? []) rows.push({ kind: 'run', text: clip(f.label, LEGEND_MAX_CHARS) });
  const legendChars = Math.max(
    0,
    ...rows.map((r) => (r.kind === 'run' ? [...r.text].length * 1.1 : [...legendText(r.series)].length + 2)),
  );
  const legendWidthPx = Math.min(
    Math.round(widthPx * 0.42),
    Math.max(140, Math.ceil(legendChars * CHAR_EM * LEGEND_PX) + 36),
  );
  const rowPx = 20;
  const top = 30 + 8 + subtitleLines(options).length * (SUBTITLE_PX + 6) + 22;
  const heightPx = Math.max(options.heightPx ?? 640, top + rows.length * rowPx + 80);
  const plot = { left: 72, top, right: widthPx - legendWidthPx - 40, bottom: heightPx - 58 };
  const x = (v: number) => plot.left + ((v - xTicks.min) / (xTicks.max - xTicks.min)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - ((v - yTicks.min) / (yTicks.max - yTicks.min)) * (plot.bottom - plot.top);
  return {
    widthPx,
    heightPx,
    plot,
    xTicks,
    yTicks,
    legend: { left: plot.right + 24, top: plot.top, widthPx: legendWidthPx, rowPx },
    x,
    y,
  };
}

const LEVEL_PX = 10;

type Box = { x0: number; y0: number; x1: number; y1: number };

function overlapArea(a: Box, b: Box): number {
  return (
    Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0))
  );
}

/**
 * Positions for the level names of the levels / TLDR curves: each takes the first spot around its marker (right,
 * then above or below right, then the same on the left) that covers no marker, error bar or earlier name, else the
 * spot that covers least. Greedy and in series order, so the same input gives the same layout.
 */
function placeLevelLabels(
  series: readonly ReportSeries[],
  L: ChartLayout,
): { x: number; y: number; text: LengthTag; color: string }[] {
  const obstacles: Box[] = [];
  for (const s of series)
    for (const p of s.points) {
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      obstacles.push({ x0: cx - 6, y0: cy - 6, x1: cx + 6, y1: cy + 6 });
      obstacles.push({
        x0: cx - 3,
        y0: L.y(p.barHighPct),
        x1: cx + 3,
        y1: L.y(p.barLowPct),
      });
    }
  const out: { x: number; y: number; text: LengthTag; color: string }[] = [];
  for (const s of series) {
    if (s.kind !== 'levels' && s.kind !== 'tldr') continue;
    for (const p of s.points) {
      const tag = p.point.lengthTag;
      if (!tag) continue;
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      const w = tag.length * CHAR_EM * LEVEL_PX;
      // Baseline positions; the box spans 8 px above the baseline to 2 px below.
      const spots = [
        [cx + 8, cy + 4],
        [cx + 7, cy - 7],
        [cx + 7, cy + 15],
        [cx - 8 - w, cy + 4],
        [cx - 7 - w, cy - 7],
        [cx - 7 - w, cy + 15],
      ] as const;
      let best: { x: number; y: number; box: Box; cost: number } | null = null;
      for (const [x, y] of spots) {
        const box = { x0: x, y0: y - 8, x1: x + w, y1: y + 2 };
        const outside = box.x0 < L.plot.left || box.x1 > L.plot.right || box.y0 < L.plot.top || box.y1 > L.plot.bottom;
        const cost = obstacles.reduce((c, o) => c + overlapArea(box, o), outside ? 1e6 : 0);
        if (best === null || cost < best.cost) best = { x, y, box, cost };
        if (cost === 0) break;
      }
      obstacles.push(best!.box);
      out.push({ x: best!.x, y: best!.y, text: tag, color: s.color });
    }
  }
  return out;
}

/** A coordinate as written in the SVG (two decimals: sub-pixel, and the same bytes on every machine). */
export function px(v: number): string {
  return v.toFixed(2);
}

function markerSvg(shape: MarkerShape, cx: number, cy: number, color: string, cls: string): string {
  const r = 4.5;
  const common = `class="${cls}" fill="${color}" stroke="#ffffff" stroke-width="1.2"`;
  switch (shape) {
    case 'circle':
      return `<circle ${common} cx="${px(cx)}" cy="${px(cy)}" r="${r}"/>`;
    case 'square':
      return `<rect ${common} x="${px(cx - r)}" y="${px(cy - r)}" width="${2 * r}" height="${2 * r}"/>`;
    case 'diamond': {
      const d = r * 1.35;
      return `<path ${common} d="M${px(cx)} ${px(cy - d)}L${px(cx + d)} ${px(cy)}L${px(cx)} ${px(cy + d)}L${px(cx - d)} ${px(cy)}Z"/>`;
    }
    case 'triangle':
    case 'triangle-down': {
      const s = shape === 'triangle' ? 1 : -1;
      const h = r * 1.3;
      return `<path ${common} d="M${px(cx)} ${px(cy - s * h)}L${px(cx + h)} ${px(cy + s * h * 0.8)}L${px(cx - h)} ${px(cy + s * h * 0.8)}Z"/>`;
    }
  }
}

function tickText(v: number, decimals: number): string {
  return v.toFixed(decimals);
}

/**
 * The chart as a standalone SVG document: x = mean thinking tokens, y = accuracy (%), a ±1 SE bar per point
 * (class "se"), one marker per point (class "marker"), points joined per series, legend, ticks, axis titles, title
 * and subtitle. No external fonts, styles or scripts, so it renders the same on GitHub as in a browser.
 */
export function renderChartSvg(series: readonly ReportSeries[], options: ChartOptions): string {
  const L = chartLayout(series, options);
  const { plot } = L;
  const o: string[] = [];
  const titleChars = Math.floor((L.widthPx - 32) / (CHAR_EM * TITLE_PX));
  const subChars = Math.floor((L.widthPx - 32) / (CHAR_EM * SUBTITLE_PX));
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.widthPx}" height="${L.heightPx}" viewBox="0 0 ${L.widthPx} ${L.heightPx}" font-family="${escapeXml(FONT)}" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${L.widthPx}" height="${L.heightPx}" fill="#ffffff"/>`,
    `<text x="16" y="30" font-size="${TITLE_PX}" font-weight="600" fill="#111111">${escapeXml(clip(options.title, titleChars))}</text>`,
  );
  subtitleLines(options).forEach((line, i) => {
    const yLine = 30 + 8 + (i + 1) * (SUBTITLE_PX + 6) - 4;
    o.push(
      `<text x="16" y="${yLine}" font-size="${SUBTITLE_PX}" fill="#555555">${escapeXml(clip(line, subChars))}</text>`,
    );
  });

  // Grid, ticks and axes.
  o.push('<g class="grid" stroke="#e6e6e6" stroke-width="1">');
  for (const v of L.xTicks.values) o.push(`<path d="M${px(L.x(v))} ${px(plot.top)}V${px(plot.bottom)}"/>`);
  for (const v of L.yTicks.values) o.push(`<path d="M${px(plot.left)} ${px(L.y(v))}H${px(plot.right)}"/>`);
  o.push('</g>');
  o.push(
    `<path class="axes" d="M${px(plot.left)} ${px(plot.top)}V${px(plot.bottom)}H${px(plot.right)}" fill="none" stroke="#333333" stroke-width="1"/>`,
  );
  o.push(`<g class="x-ticks" font-size="${TICK_PX}" fill="#333333" text-anchor="middle">`);
  for (const v of L.xTicks.values)
    o.push(`<text x="${px(L.x(v))}" y="${px(plot.bottom + 18)}">${tickText(v, L.xTicks.decimals)}</text>`);
  o.push('</g>');
  o.push(`<g class="y-ticks" font-size="${TICK_PX}" fill="#333333" text-anchor="end">`);
  for (const v of L.yTicks.values)
    o.push(`<text x="${px(plot.left - 8)}" y="${px(L.y(v) + 4)}">${tickText(v, L.yTicks.decimals)}</text>`);
  o.push('</g>');
  const midX = (plot.left + plot.right) / 2;
  const midY = (plot.top + plot.bottom) / 2;
  o.push(
    `<text x="${px(midX)}" y="${px(plot.bottom + 44)}" font-size="13" fill="#111111" text-anchor="middle">mean thinking tokens</text>`,
    `<text transform="translate(24 ${px(midY)}) rotate(-90)" font-size="13" fill="#111111" text-anchor="middle">accuracy (%)</text>`,
  );

  // Oracle frontiers under everything: a band from the x axis up to the frontier, then the frontier as a dashed step
  // line held flat to the plot's right edge (beyond its last point the oracle is no more accurate).
  for (const f of options.frontiers ?? []) {
    if (f.points.length === 0) continue;
    const clampY = (pct: number) => L.y(Math.max(L.yTicks.min, Math.min(L.yTicks.max, pct)));
    const pts = f.points.map((p) => [L.x(p.meanThinkingTokens), clampY(100 * p.accuracy)] as const);
    const last = pts[pts.length - 1]!;
    const line = [...pts, [plot.right, last[1]] as const];
    const d = line.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)} ${px(y)}`).join('');
    o.push(
      `<g class="frontier">`,
      `<path class="band" d="${d}L${px(plot.right)} ${px(plot.bottom)}L${px(line[0]![0])} ${px(plot.bottom)}Z" fill="${FRONTIER_COLOR}" fill-opacity="0.12" stroke="none"/>`,
      `<path class="line" d="${d}" fill="none" stroke="${FRONTIER_COLOR}" stroke-width="1.6" stroke-dasharray="5 3"/>`,
      '</g>',
    );
  }

  // Series: line first, then per point its SE bar and marker (markers on top of the bars).
  for (const s of series) {
    o.push(`<g class="series" data-series="${escapeXml(s.key)}">`);
    if (s.points.length > 1) {
      const d = s.points
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(L.x(p.point.meanThinkingTokens))} ${px(L.y(p.accuracyPct))}`)
        .join('');
      o.push(
        `<path class="line" d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8" stroke-opacity="0.85" stroke-linejoin="round"/>`,
      );
    }
    for (const p of s.points) {
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      // An accuracy cannot leave [0, 100]: the bar stops at the bounds.
      const y1 = L.y(p.barHighPct);
      const y2 = L.y(p.barLowPct);
      const level = p.point.lengthTag ? ` <${p.point.lengthTag}>` : '';
      const tip = `${s.label}: ${p.setting}${level} — accuracy ${p.accuracyText}%, ${p.point.meanThinkingTokens.toFixed(1)} thinking tokens, n = ${p.point.problems}`;
      o.push(
        '<g class="pt">',
        `<title>${escapeXml(tip)}</title>`,
        `<path class="se" d="M${px(cx)} ${px(y1)}V${px(y2)}M${px(cx - 3)} ${px(y1)}H${px(cx + 3)}M${px(cx - 3)} ${px(y2)}H${px(cx + 3)}" stroke="${s.color}" stroke-width="1.2"/>`,
        markerSvg(s.marker, cx, cy, s.color, 'marker'),
      );
      o.push('</g>');
    }
    o.push('</g>');
  }
  // Level curves name their points (the level is what moves along them), above every series, haloed in white.
  o.push(`<g class="levels" font-size="${LEVEL_PX}" stroke="#ffffff" stroke-width="3" paint-order="stroke">`);
  for (const l of placeLevelLabels(series, L))
    o.push(`<text x="${px(l.x)}" y="${px(l.y)}" fill="${l.color}">${l.text}</text>`);
  o.push('</g>');

  // Legend: a line and marker sample, then the label and what varies along the curve; run names as headings.
  const lg = L.legend;
  o.push(`<g class="legend" font-size="${LEGEND_PX}" fill="#222222">`);
  const rows = legendRows(series);
  const indentPx = rows.some((r) => r.kind === 'run') ? 10 : 0;
  rows.forEach((row, i) => {
    const yRow = lg.top + 10 + i * lg.rowPx;
    if (row.kind === 'run') {
      o.push(`<text x="${px(lg.left)}" y="${px(yRow + 4)}" font-weight="600">${escapeXml(row.text)}</text>`);
      return;
    }
    const s = row.series;
    const left = lg.left + indentPx;
    o.push(
      `<path d="M${px(left)} ${px(yRow)}H${px(left + 22)}" stroke="${s.color}" stroke-width="1.8"/>`,
      markerSvg(s.marker, left + 11, yRow, s.color, 'legend-marker'),
      `<text x="${px(left + 30)}" y="${px(yRow + 4)}">${escapeXml(legendText(s))}</text>`,
    );
  });
  (options.frontiers ?? []).forEach((f, j) => {
    const yRow = lg.top + 10 + (rows.length + j) * lg.rowPx;
    o.push(
      `<path class="frontier-legend" d="M${px(lg.left)} ${px(yRow)}H${px(lg.left + 22)}" stroke="${FRONTIER_COLOR}" stroke-width="1.6" stroke-dasharray="5 3"/>`,
      `<text x="${px(lg.left + 30)}" y="${px(yRow + 4)}">${escapeXml(clip(f.label, LEGEND_MAX_CHARS))}</text>`,
    );
  });
  o.push('</g>', '</svg>', '');
  return o.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Number formats (the chart and the Markdown table)

export function tokens(v: number | null): string {
  return v === null ? '—' : v.toFixed(1);
}
