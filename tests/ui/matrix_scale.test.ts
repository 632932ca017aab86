/**
 * The results matrix's colour scale (src/ui/matrix_scale.ts): viridis end points, monotonic lightness (a sequential
 * scale), and cell text that always meets WCAG AA contrast.
 */
import { describe, expect, it } from 'vitest';
import {
  contrastRatio,
  NO_RATE_COLOR,
  rateColor,
  relativeLuminance,
  TEXT_DARK,
  TEXT_LIGHT,
  textColorFor,
  VIRIDIS_STOPS,
} from '../../src/ui/matrix_scale';

describe('rateColor', () => {
  it('maps 0 and 1 to the ends of viridis, the tenths to its stops, and clamps', () => {
    expect(rateColor(0)).toBe('#440154');
    expect(rateColor(1)).toBe('#fde725');
    VIRIDIS_STOPS.forEach((c, i) => {
      expect(rateColor(i / 10)).toBe(c);
    });
    expect(rateColor(-0.5)).toBe('#440154');
    expect(rateColor(2)).toBe('#fde725');
    expect(() => rateColor(Number.NaN)).toThrow(/rate must be a finite number/);
  });

  it('interpolates between stops', () => {
    // Halfway between #440154 and #482475: (68+72)/2, (1+36)/2, (84+117)/2 = 70, 18.5, 100.5 → #46 13 65 (rounded).
    expect(rateColor(0.05)).toBe('#461365');
  });

  it('rises in luminance across the scale (darker = lower rate)', () => {
    let prev = -1;
    for (let k = 0; k <= 100; k++) {
      const l = relativeLuminance(rateColor(k / 100));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });
});

describe('textColorFor', () => {
  it('picks the text colour with the higher contrast, at least 4.5:1, on every cell colour', () => {
    for (let k = 0; k <= 100; k++) {
      const bg = rateColor(k / 100);
      const text = textColorFor(bg);
      const other = text === TEXT_DARK ? TEXT_LIGHT : TEXT_DARK;
      expect(contrastRatio(bg, text)).toBeGreaterThanOrEqual(contrastRatio(bg, other));
      expect(contrastRatio(bg, text)).toBeGreaterThanOrEqual(4.5);
    }
    expect(textColorFor(rateColor(0))).toBe(TEXT_LIGHT);
    expect(textColorFor(rateColor(1))).toBe(TEXT_DARK);
    expect(textColorFor(NO_RATE_COLOR)).toBe(TEXT_DARK);
  });

  it('computes WCAG contrast ratios', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 10);
    expect(contrastRatio('#777777', '#777777')).toBe(1);
    // #767676 on white is the classic just-passing AA grey (4.54:1).
    expect(contrastRatio('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
    expect(() => relativeLuminance('red')).toThrow(/#rrggbb/);
  });
});
