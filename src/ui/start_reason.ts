/**
 * Why the SFT Start button cannot begin a run now (null: it can), in a few words, shown next to it. Only the SFT
 * settings count (sftConfigIssues): invalid RL settings block the RL panel's Start, not this one.
 */
import type { ConfigIssue } from '../model/config';

export interface SftStartContext {
  engineReady: boolean;
  /** A session is training or starting (SFT or RL). */
  training: boolean;
  /** The lab queue or a suite evaluation holds the worker's model. */
  engineBusy: boolean;
  /** The page is timing the adapter on load (adapter_fit.ts). */
  measuringAdapter?: boolean;
  /** sftConfigIssues of the settings, with the device's limits. */
  issues: readonly ConfigIssue[];
}

/** Field names as the form labels them, for the reason line (others show as their config path). */
const FIELD_LABELS: Record<string, string> = {
  'sft.batchSize': 'Batch size',
  'sft.steps': 'SFT steps',
  'sft.learningRate': 'Learning rate',
  'model.size': 'Model',
  seed: 'Seed',
};

export function sftStartBlocker(c: SftStartContext): string | null {
  if (!c.engineReady) return 'The engine is starting.';
  if (c.training) return null; // Start is simply off while a run trains; Stop is the button then.
  if (c.engineBusy) return 'The lab queue, a suite evaluation or an oracle frontier is running.';
  if (c.measuringAdapter) return 'Timing this adapter to size the default run (a few seconds)…';
  const first = c.issues[0];
  if (first === undefined) return null;
  const more = c.issues.length > 1 ? ` (and ${c.issues.length - 1} more marked in red)` : '';
  return `${FIELD_LABELS[first.path] ?? first.path}: ${first.message}${more}`;
}
