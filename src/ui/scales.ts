/**
 * Pure helpers of the charts' and sliders' scales (no React): which histogram ticks are labelled, and the
 * temperature slider's positions over the schema's whole range.
 */
import { decodeConfigSchema } from '../train/run_config';

/** Most bin labels the thinking-length histogram shows; the others are left unlabelled (their tooltip names them). */
export const HISTOGRAM_MAX_LABELS = 8;

/**
 * Recharts' `interval` for the histogram's x axis (labels skipped between two shown ones) so that at most `maxLabels`
 * of `binCount` bins are labelled: every bin up to `maxLabels` bins, else every k-th with k = ⌈binCount / maxLabels⌉.
 */
export function histogramTickInterval(binCount: number, maxLabels = HISTOGRAM_MAX_LABELS): number {
  if (binCount <= maxLabels) return 0;
  return Math.ceil(binCount / maxLabels) - 1;
}

/** A bin's axis label: its first token count ("12"); its range ("12–15") is the tooltip's. */
export function histogramBinLabel(bin: { startTokens: number }): string {
  return `${bin.startTokens}`;
}

/** A bin's range in tokens: "12" for a one-token bin, else "12–15". */
export function histogramBinRange(bin: { startTokens: number; widthTokens: number }): string {
  return bin.widthTokens === 1 ? `${bin.startTokens}` : `${bin.startTokens}–${bin.startTokens + bin.widthTokens - 1}`;
}

const temperatureSchema = decodeConfigSchema.shape.temperature;
/** The temperature range the config allows (and a link may set): [0, 10]. */
export const TEMPERATURE_MIN = temperatureSchema.minValue ?? 0;
export const TEMPERATURE_MAX = temperatureSchema.maxValue ?? 10;

/**
 * The slider's temperatures, one per position: 0.05 apart up to 2 (where decoding changes fastest), then 0.25 apart
 * up to 10, so a step (arrow key) is fine where it matters and the whole range is on the slider.
 */
export const TEMPERATURE_STOPS: readonly number[] = (() => {
  const stops: number[] = [];
  const fineUpTo = Math.min(2, TEMPERATURE_MAX);
  for (let i = 0; TEMPERATURE_MIN + i * 0.05 <= fineUpTo + 1e-9; i++) stops.push(round2(TEMPERATURE_MIN + i * 0.05));
  for (let t = fineUpTo + 0.25; t <= TEMPERATURE_MAX + 1e-9; t += 0.25) stops.push(round2(t));
  return stops;
})();

/** The slider position of `temperature`: the nearest stop (a linked value between two stops shows as it is). */
export function temperatureToPosition(temperature: number): number {
  let best = 0;
  for (let i = 1; i < TEMPERATURE_STOPS.length; i++) {
    if (Math.abs(TEMPERATURE_STOPS[i]! - temperature) < Math.abs(TEMPERATURE_STOPS[best]! - temperature)) best = i;
  }
  return best;
}

/** The temperature at slider position `position` (clamped to the stops). */
export function positionToTemperature(position: number): number {
  const i = Math.min(TEMPERATURE_STOPS.length - 1, Math.max(0, Math.round(position)));
  return TEMPERATURE_STOPS[i]!;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
