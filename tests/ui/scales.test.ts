import { describe, expect, it } from 'vitest';
import { decodeConfigSchema } from '../../src/train/run_config';
import {
  histogramBinLabel,
  histogramBinRange,
  histogramTickInterval,
  positionToTemperature,
  TEMPERATURE_MAX,
  TEMPERATURE_STOPS,
  temperatureToPosition,
} from '../../src/ui/scales';

describe('histogram ticks', () => {
  it('labels at most 8 bins, evenly, with one number each', () => {
    // 30 bins of 3 tokens used to label all 30 as "0–2", "3–5", … and run into each other.
    for (const n of [1, 5, 8, 9, 16, 30, 64]) {
      const interval = histogramTickInterval(n);
      const labelled = Array.from({ length: n }, (_, i) => i).filter((i) => i % (interval + 1) === 0);
      expect(labelled.length).toBeLessThanOrEqual(8);
      expect(labelled.length).toBeGreaterThanOrEqual(Math.min(n, 4));
    }
    expect(histogramTickInterval(8)).toBe(0);
    expect(histogramTickInterval(30)).toBe(3); // every 4th: 0, 4, …, 28 → 8 labels
    expect(histogramBinLabel({ startTokens: 12 })).toBe('12');
    expect(histogramBinRange({ startTokens: 12, widthTokens: 4 })).toBe('12–15');
    expect(histogramBinRange({ startTokens: 7, widthTokens: 1 })).toBe('7');
  });
});

describe('temperature slider', () => {
  it("covers the schema's whole range: 0.05 a step to 2, then 0.25 a step to 10", () => {
    const shape = decodeConfigSchema.shape.temperature;
    expect(TEMPERATURE_MAX).toBe(shape.maxValue);
    expect(TEMPERATURE_MAX).toBe(10);
    expect(TEMPERATURE_STOPS[0]).toBe(0);
    expect(TEMPERATURE_STOPS[TEMPERATURE_STOPS.length - 1]).toBe(10);
    expect(TEMPERATURE_STOPS.length).toBe(41 + 32);
    for (let i = 1; i < TEMPERATURE_STOPS.length; i++) {
      const gap = TEMPERATURE_STOPS[i]! - TEMPERATURE_STOPS[i - 1]!;
      expect(gap).toBeCloseTo(TEMPERATURE_STOPS[i]! <= 2 ? 0.05 : 0.25, 9);
    }
    // Every stop round-trips; 1 (the plain softmax) is a stop.
    TEMPERATURE_STOPS.forEach((t, i) => {
      expect(temperatureToPosition(t)).toBe(i);
      expect(positionToTemperature(i)).toBe(t);
    });
    expect(TEMPERATURE_STOPS).toContain(1);
    // A linked value between stops sits at the nearest one; positions out of range clamp.
    expect(positionToTemperature(temperatureToPosition(7.1))).toBe(7);
    expect(positionToTemperature(-3)).toBe(0);
    expect(positionToTemperature(1e6)).toBe(10);
  });
});
