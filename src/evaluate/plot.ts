/**
 * A standalone SVG figure for an evaluation: ROC curve on the left,
 * reliability (calibration) diagram on the right.
 *
 * Hand-written SVG rather than a chart library: the well-kept charting
 * libraries (D3, Vega, Chart.js, Plotly) either need a DOM/canvas to render
 * or pull in a headless browser or large runtime to produce a static file
 * server-side. Two fixed panels of lines, bars and text are a few dozen
 * lines of string building, with no dependency and byte-stable output that
 * diffs cleanly in a report.
 */
import type { ReliabilityBin } from '../model/metrics.js';

export interface CurveSeries {
  name: string;
  fpr: readonly number[];
  tpr: readonly number[];
}

export interface EvaluationPlotInput {
  title: string;
  /** The overall ROC curve, drawn first and labelled `rocName` (default 'all'); null when there is none (one class only): no curve is drawn. */
  roc: { fpr: readonly number[]; tpr: readonly number[] } | null;
  rocName?: string;
  /** Extra ROC curves (e.g. one per source), each with its own colour and legend entry. */
  curves?: readonly CurveSeries[];
  reliability: readonly ReliabilityBin[];
  auroc?: number | null;
  ece?: number | null;
  /** Where the deployed threshold sits on the overall ROC curve. */
  operatingPoint?: { fpr: number; tpr: number; threshold?: number } | null;
  /** 'log' spreads out the low-FPR region that matters for a detector; FPR below 1e-4 is drawn at 1e-4. */
  fprScale?: 'linear' | 'log';
}

const WIDTH = 800;
const HEIGHT = 400;
const FONT = 'Helvetica, Arial, sans-serif';
/** Okabe–Ito palette: distinguishable with the common colour-vision deficiencies. */
const OKABE_ITO = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  green: '#009E73',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
} as const;
const CURVE_COLOURS = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.sky, OKABE_ITO.black];
const LOG_FPR_FLOOR = 1e-4;
/** A white outline drawn under the glyphs keeps labels legible where they cross curves or grid lines. */
const HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"';

interface Panel {
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: (value: number) => number;
  y: (value: number) => number;
}

/** Make text safe inside XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Coordinates with one decimal: sub-pixel precision is invisible and bloats the file. */
function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function formatMetric(value: number | null | undefined, decimals: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  // tprAtFpr reports +Infinity when no threshold fits the FPR budget.
  return Number.isFinite(value) ? value.toFixed(decimals) : value > 0 ? '∞' : '−∞';
}

function makePanel(left: number, right: number, top: number, bottom: number, logX: boolean): Panel {
  const linear = (value: number) => left + clamp01(value) * (right - left);
  const logarithmic = (value: number) => {
    const decades = -Math.log10(LOG_FPR_FLOOR);
    const position = (Math.log10(Math.max(LOG_FPR_FLOOR, Math.min(1, value))) + decades) / decades;
    return left + position * (right - left);
  };
  return { left, right, top, bottom, x: logX ? logarithmic : linear, y: (value) => bottom - clamp01(value) * (bottom - top) };
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attributes ? ' ' + attributes : ''}>${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attributes: string): string {
  return `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" ${attributes}/>`;
}

function polyline(points: ReadonlyArray<[number, number]>, attributes: string): string {
  return `<polyline points="${points.map(([x, y]) => `${px(x)},${px(y)}`).join(' ')}" fill="none" ${attributes}/>`;
}

const LINEAR_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
const LOG_TICKS = [1e-4, 1e-3, 1e-2, 1e-1, 1];

/** Frame, grid, ticks and axis labels shared by both panels. */
function axes(panel: Panel, xTicks: readonly number[], xLabel: string, yLabel: string, title: string): string[] {
  const parts: string[] = [];
  for (const tick of xTicks) {
    const x = panel.x(tick);
    parts.push(line(x, panel.top, x, panel.bottom, 'stroke="#e5e5e5"'));
    parts.push(text(x, panel.bottom + 16, String(tick), 'text-anchor="middle" font-size="11"'));
  }
  for (const tick of LINEAR_TICKS) {
    const y = panel.y(tick);
    parts.push(line(panel.left, y, panel.right, y, 'stroke="#e5e5e5"'));
    parts.push(text(panel.left - 6, y + 4, String(tick), 'text-anchor="end" font-size="11"'));
  }
  parts.push(
    `<rect x="${px(panel.left)}" y="${px(panel.top)}" width="${px(panel.right - panel.left)}" height="${px(panel.bottom - panel.top)}" fill="none" stroke="#333"/>`,
  );
  const centreX = (panel.left + panel.right) / 2;
  const centreY = (panel.top + panel.bottom) / 2;
  parts.push(text(centreX, panel.top - 14, title, 'text-anchor="middle" font-size="14" font-weight="bold"'));
  parts.push(text(centreX, panel.bottom + 36, xLabel, 'text-anchor="middle" font-size="12"'));
  parts.push(
    text(panel.left - 40, centreY, yLabel, `text-anchor="middle" font-size="12" transform="rotate(-90 ${px(panel.left - 40)} ${px(centreY)})"`),
  );
  return parts;
}

interface LegendEntry {
  label: string;
  /** SVG for the 24×12 swatch whose top-left corner is (0, 0). */
  swatch: string;
}

/** Approximate: 11px Helvetica averages ~6.2px per character; no text metrics without a DOM. */
function legendWidth(entries: readonly LegendEntry[]): number {
  return 34 + Math.max(...entries.map((entry) => entry.label.length)) * 6.2;
}

function legend(x: number, y: number, entries: readonly LegendEntry[]): string {
  const rowHeight = 16;
  const width = legendWidth(entries);
  const rows = entries.map(
    (entry, i) =>
      `<g transform="translate(${px(x + 6)} ${px(y + 6 + i * rowHeight)})">${entry.swatch}${text(30, 10, entry.label, 'font-size="11"')}</g>`,
  );
  const box = `<rect x="${px(x)}" y="${px(y)}" width="${px(width)}" height="${px(entries.length * rowHeight + 8)}" fill="#fff" fill-opacity="0.85" stroke="#bbb"/>`;
  return `<g>${box}${rows.join('')}</g>`;
}

const lineSwatch = (colour: string, dash = '') =>
  `<line x1="0" y1="6" x2="24" y2="6" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;

function curvePoints(panel: Panel, fpr: readonly number[], tpr: readonly number[]): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (let i = 0; i < Math.min(fpr.length, tpr.length); i++) {
    if (Number.isFinite(fpr[i]) && Number.isFinite(tpr[i])) points.push([panel.x(fpr[i]), panel.y(tpr[i])]);
  }
  return points;
}

/** Chance (tpr = fpr): a straight line on linear axes, a curve on a log FPR axis, so sample it there. */
function chanceLine(panel: Panel, logX: boolean): Array<[number, number]> {
  const samples = 40;
  const values = logX
    ? Array.from({ length: samples }, (_, i) => LOG_FPR_FLOOR * Math.pow(1 / LOG_FPR_FLOOR, i / (samples - 1)))
    : [0, 1];
  return values.map((value) => [panel.x(value), panel.y(value)]);
}

function rocPanel(input: EvaluationPlotInput, panel: Panel, logX: boolean): string[] {
  const xTicks = logX ? LOG_TICKS : LINEAR_TICKS;
  const xLabel = logX ? 'False positive rate, log scale (human text flagged)' : 'False positive rate (human text flagged)';
  const parts = axes(panel, xTicks, xLabel, 'True positive rate (machine text caught)', 'ROC curve');
  const chance = OKABE_ITO.black;
  parts.push(polyline(chanceLine(panel, logX), `stroke="${chance}" stroke-opacity="0.45" stroke-dasharray="4 4"`));

  const name = input.rocName ?? 'all';
  const series: CurveSeries[] = [...(input.roc ? [{ name, ...input.roc }] : []), ...(input.curves ?? [])];
  // Without both classes there is no curve to draw; a stand-in line would read as a measured one.
  const entries: LegendEntry[] = input.roc ? [] : [{ label: `${name}: no ROC curve (needs human and machine texts)`, swatch: '' }];
  series.forEach((curve, i) => {
    const colour = CURVE_COLOURS[i % CURVE_COLOURS.length];
    const width = i === 0 ? 2.5 : 1.5;
    parts.push(polyline(curvePoints(panel, curve.fpr, curve.tpr), `stroke="${colour}" stroke-width="${width}" stroke-linejoin="round"`));
    const label = i === 0 && input.roc && input.auroc !== undefined ? `${curve.name} (AUROC ${formatMetric(input.auroc, 4)})` : curve.name;
    entries.push({ label, swatch: lineSwatch(colour) });
  });
  entries.push({ label: 'chance', swatch: lineSwatch(chance, '4 4') });

  const point = input.operatingPoint;
  if (point && Number.isFinite(point.fpr) && Number.isFinite(point.tpr)) {
    const x = panel.x(point.fpr);
    const y = panel.y(point.tpr);
    const marker = (cx: number, cy: number) =>
      `<circle cx="${px(cx)}" cy="${px(cy)}" r="5" fill="${OKABE_ITO.vermillion}" stroke="#000"/>`;
    parts.push(marker(x, y));
    const threshold = point.threshold === undefined ? '' : `t=${formatMetric(point.threshold, 3)}: `;
    const caption = `${threshold}TPR ${formatMetric(point.tpr, 3)} @ FPR ${formatMetric(point.fpr, 4)}`;
    // Keep the caption inside the panel: left of the point when it sits right of centre, below it near the top.
    const anchor = x > (panel.left + panel.right) / 2 ? 'end' : 'start';
    const captionX = anchor === 'end' ? x - 9 : x + 9;
    const captionY = y < panel.top + 20 ? y + 18 : y - 8;
    parts.push(text(captionX, captionY, caption, `text-anchor="${anchor}" font-size="11" fill="#000" ${HALO}`));
    entries.push({ label: 'operating point', swatch: marker(12, 6) });
  }
  parts.push(legend(panel.right - 6 - legendWidth(entries), panel.bottom - 6 - (entries.length * 16 + 8), entries));
  return parts;
}

/** "12345" does not fit above a 29px bar at 9px type; "12.3k" does. */
function compactCount(count: number): string {
  return count < 10_000 ? String(count) : `${(count / 1000).toFixed(count < 100_000 ? 1 : 0)}k`;
}

function reliabilityPanel(input: EvaluationPlotInput, panel: Panel): string[] {
  const parts = axes(panel, LINEAR_TICKS, 'Predicted P(machine)', 'Fraction machine-written', 'Calibration (reliability)');
  parts.push(line(panel.x(0), panel.y(0), panel.x(1), panel.y(1), 'stroke="#000" stroke-opacity="0.45" stroke-dasharray="4 4"'));
  for (const bin of input.reliability) {
    if (bin.count === 0 || !Number.isFinite(bin.fractionMachine)) continue;
    const left = panel.x(bin.lo) + 1;
    const right = panel.x(bin.hi) - 1;
    const top = panel.y(bin.fractionMachine);
    parts.push(
      `<rect x="${px(left)}" y="${px(top)}" width="${px(Math.max(0, right - left))}" height="${px(panel.bottom - top)}" fill="${OKABE_ITO.blue}" fill-opacity="0.55"/>`,
    );
    parts.push(text((left + right) / 2, top - 3, compactCount(bin.count), `text-anchor="middle" font-size="9" fill="#333" ${HALO}`));
  }
  for (const bin of input.reliability) {
    if (bin.count === 0 || !Number.isFinite(bin.meanProbability) || !Number.isFinite(bin.fractionMachine)) continue;
    parts.push(
      `<circle cx="${px(panel.x(bin.meanProbability))}" cy="${px(panel.y(bin.fractionMachine))}" r="4" fill="${OKABE_ITO.orange}" stroke="#000"/>`,
    );
  }
  // Short labels keep the legend in the upper left, which calibrated bars never reach.
  const entries: LegendEntry[] = [
    { label: 'fraction machine', swatch: `<rect x="0" y="0" width="24" height="12" fill="${OKABE_ITO.blue}" fill-opacity="0.55"/>` },
    { label: 'mean P(machine)', swatch: `<circle cx="12" cy="6" r="4" fill="${OKABE_ITO.orange}" stroke="#000"/>` },
    { label: 'calibrated', swatch: lineSwatch('#000', '4 4') },
    { label: 'documents in bin', swatch: '<text x="12" y="10" font-size="9" text-anchor="middle" fill="#333">123</text>' },
    { label: `ECE ${formatMetric(input.ece, 4)}`, swatch: '' },
  ];
  parts.push(legend(panel.left + 6, panel.top + 6, entries));
  return parts;
}

/** The two-panel evaluation figure as a complete SVG document (~800×400). */
export function renderEvaluationSvg(input: EvaluationPlotInput): string {
  const logX = input.fprScale === 'log';
  const rocArea = makePanel(75, 365, 70, 330, logX);
  const reliabilityArea = makePanel(475, 765, 70, 330, false);
  const body = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    text(WIDTH / 2, 26, input.title, 'text-anchor="middle" font-size="16" font-weight="bold"'),
    ...rocPanel(input, rocArea, logX),
    ...reliabilityPanel(input, reliabilityArea),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}">`,
    `<title>${escapeXml(input.title)}</title>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
