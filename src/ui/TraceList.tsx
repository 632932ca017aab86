/**
 * Sample generations: prompt, then the completion with its `<think>` span visibly styled, marked ✓ (green, verified
 * correct) or ✗ (red) with the verifier's reason and the thinking length.
 */
import type { TraceSample } from '../train/results';
import { splitThinking } from './chart_data';

export function Trace({ sample }: { sample: TraceSample }) {
  const spans = splitThinking(sample.completion);
  return (
    <li className={sample.correct ? 'trace trace-ok' : 'trace trace-bad'}>
      <div className="trace-head">
        <span className="mark" role="img" aria-label={sample.correct ? 'correct' : 'wrong'}>
          {sample.correct ? '✓' : '✗'}
        </span>
        <span className="trace-meta">
          {sample.thinkingTokens} thinking tokens · {sample.finished ? 'stopped' : 'hit the length limit'} ·{' '}
          {sample.reason}
        </span>
      </div>
      <pre className="trace-text">
        <span className="prompt">{sample.prompt}</span>
        {spans.map((s, i) => (
          // Spans of one completion never reorder, so the index is a stable key.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <span key={i} className={`span-${s.kind}`}>
            {s.text}
          </span>
        ))}
      </pre>
    </li>
  );
}

export function TraceList({ samples, limit }: { samples: readonly TraceSample[]; limit?: number }) {
  const shown = limit === undefined ? samples : samples.slice(0, limit);
  if (shown.length === 0) return <p className="muted small">No samples.</p>;
  return (
    <ul className="traces">
      {shown.map((s, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a sample list is replaced whole, never reordered
        <Trace key={i} sample={s} />
      ))}
    </ul>
  );
}
