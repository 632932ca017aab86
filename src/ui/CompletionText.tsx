/**
 * A model completion as monospace text with its `<think>` span visibly set apart (the same styling as the trace
 * list), for the results matrix's sample details.
 */
import { splitThinking } from './chart_data';

export function CompletionText({ completion, prompt }: { completion: string; prompt?: string }) {
  const spans = splitThinking(completion);
  return (
    <pre className="trace-text">
      {prompt !== undefined && <span className="prompt">{prompt}</span>}
      {spans.map((s, i) => (
        // Spans of one completion never reorder, so the index is a stable key.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <span key={i} className={`span-${s.kind}`}>
          {s.text}
        </span>
      ))}
    </pre>
  );
}
