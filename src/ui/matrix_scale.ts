/**
 * Colour scale of the results matrix (src/ui/MatrixView.tsx): success rate 0..1 on viridis, a perceptually uniform
 * sequential scale (equal steps in rate look like equal steps in colour, lightness rises monotonically from dark
 * purple at 0% to yellow at 100%, and it stays readable in greyscale and for the common colour-vision deficiencies).
 * The text on a cell is black or white, whichever has the higher WCAG contrast ratio with the cell. Pure (no DOM).
 */

/** Viridis at rate 0, 0.1, …, 1 (matplotlib's table, sampled every tenth). */
export const VIRIDIS_STOPS: readonly string[] = [
  '#440154',
  '#482475',
  '#414487',
  '#355f8d',
  '#2a788e',
  '#21918c',
  '#22a884',
  '#44bf70',
  '#7ad151',
  '#bddf26',
  '#fde725',
];

/** Background of a cell with no rate (a suite of zero problems). */
export const NO_RATE_COLOR = '#e8ecf1';

type Rgb = [number, number, number];

function parseHex(hex: string): Rgb {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`expected a colour as #rrggbb, got ${JSON.stringify(hex)}`);
  const n = Number.parseInt(m[1] as string, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function toHex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The scale's colour at `rate` (clamped to [0, 1]), linearly interpolated between the tenth stops (the stops are close
 * enough that the interpolation stays on the curve to the eye). Throws on a non-finite rate.
 */
export function rateColor(rate: number): string {
  if (!Number.isFinite(rate)) throw new RangeError(`rateColor: rate must be a finite number, got ${rate}`);
  const x = Math.min(1, Math.max(0, rate)) * (VIRIDIS_STOPS.length - 1);
  const i = Math.min(VIRIDIS_STOPS.length - 2, Math.floor(x));
  const t = x - i;
  const a = parseHex(VIRIDIS_STOPS[i] as string);
  const b = parseHex(VIRIDIS_STOPS[i + 1] as string);
  return toHex([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]);
}

/** WCAG 2 relative luminance of an sRGB colour (#rrggbb). */
export function relativeLuminance(hex: string): number {
  const lin = parseHex(hex).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (lin[0] as number) + 0.7152 * (lin[1] as number) + 0.0722 * (lin[2] as number);
}

/** WCAG 2 contrast ratio of two colours, 1..21. */
export function contrastRatio(a: string, b: string): number {
  const la = relativeLuminance(a);
  const lb = relativeLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export const TEXT_DARK = '#000000';
export const TEXT_LIGHT = '#ffffff';

/** Black or white text for a background, whichever contrasts more (always at least 4.58:1, above WCAG AA's 4.5). */
export function textColorFor(background: string): string {
  return contrastRatio(background, TEXT_DARK) >= contrastRatio(background, TEXT_LIGHT) ? TEXT_DARK : TEXT_LIGHT;
}

/** A CSS linear-gradient of the whole scale, left = 0%, right = 100% (for the legend). */
export function scaleGradient(): string {
  const stops = VIRIDIS_STOPS.map((c, i) => `${c} ${(i * 100) / (VIRIDIS_STOPS.length - 1)}%`);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}
