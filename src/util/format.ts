/**
 * Number formats shared by the page and the headless reports (one definition each, so a chart, a table and a report
 * print the same figure the same way).
 */

/** A fraction as a percentage with `digits` decimals ('12.5%'); '—' for a missing or non-finite value. */
export function percent(fraction: number | undefined, digits = 1): string {
  return fraction === undefined || !Number.isFinite(fraction) ? '—' : `${(100 * fraction).toFixed(digits)}%`;
}
