/**
 * General Points in the results matrix's cell details: the prompt (cards and the stated face-card rule), the model's
 * formula and its check, recomputed with the task's parser and verifier (src/ui/gp_check.ts): the numbers it uses
 * against the hand (under the verifier's rule and, where they differ, the stated one), its exact value against the
 * target, and the verifier's reason beside the note the evaluation recorded.
 */
import { useMemo } from 'react';
import { faceRuleText } from '../tasks/general_points';
import type { SuiteSample } from '../train/suite_types';
import { CompletionText } from './CompletionText';
import { checkGpAnswer } from './gp_check';

function Mark({ ok }: { ok: boolean }) {
  return (
    <span className={ok ? 'mark-ok' : 'mark-bad'} role="img" aria-label={ok ? 'yes' : 'no'}>
      {ok ? '✓' : '✗'}
    </span>
  );
}

const list = (xs: readonly number[]) => xs.join(', ');

export function GpDetail({ sample, suite }: { sample: SuiteSample; suite: string }) {
  const turn = sample.turns[0];
  const completion = turn?.completion ?? '';
  const check = useMemo(() => checkGpAnswer(sample.prompt, completion, suite), [sample.prompt, completion, suite]);
  if (check === null) {
    return (
      <div className="gp-detail">
        <p className="hint">The prompt is not a General Points question this view can read; shown as recorded.</p>
        <CompletionText prompt={sample.prompt} completion={completion} />
        {turn && <p className="muted small">note: {turn.note}</p>}
      </div>
    );
  }
  const q = check.question;
  const ruleDiffers = faceRuleText(check.verifierRule) !== q.ruleText;
  const statedDiffers = list(check.statedValues) !== list(check.handValues);
  const noteMatches = turn === undefined || turn.note === check.verdict.reason;
  return (
    <div className="gp-detail">
      <dl className="gp-facts">
        <dt>Cards</dt>
        <dd>
          {q.cards.map((c, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a hand may repeat a card; positions are stable
            <span key={i} className="gp-card">
              {c}
            </span>
          ))}{' '}
          → target {q.target}
        </dd>
        <dt>Stated rule</dt>
        <dd>
          <code>{q.ruleText}</code>
          {ruleDiffers && (
            <span className="hint">
              {' '}
              (the verifier applies <code>{faceRuleText(check.verifierRule)}</code>: a fake rule)
            </span>
          )}
          {!check.knownSuite && (
            <span className="hint"> (suite '{suite}' is not a task variant: stated rule used)</span>
          )}
        </dd>
        <dt>Formula</dt>
        <dd>{check.formula === null ? <span className="muted">no answer</span> : <code>{check.formula}</code>}</dd>
        <dt>Numbers used</dt>
        <dd>
          {check.usedNumbers === null ? (
            <span className="muted">{check.parseError ? `does not parse: ${check.parseError}` : '—'}</span>
          ) : (
            <>
              {list(check.usedNumbers)} vs the hand {list(check.handValues)} <Mark ok={check.usesHand === true} />
              {statedDiffers && (
                <span className="hint">
                  {' '}
                  · the stated rule's values {list(check.statedValues)}{' '}
                  {check.usesStatedValues ? '(followed the prompt)' : '(not these either)'}
                </span>
              )}
            </>
          )}
        </dd>
        <dt>Value</dt>
        <dd>
          {check.value !== null ? (
            <>
              = {check.value} (target {q.target}) <Mark ok={check.value === String(q.target)} />
            </>
          ) : (
            <span className="muted">{check.divisionByZero ? 'division by zero' : '—'}</span>
          )}
        </dd>
        <dt>Verifier</dt>
        <dd>
          <Mark ok={check.verdict.correct} /> {check.verdict.reason}
          {!noteMatches && turn && <span className="hint"> (the evaluation recorded: {turn.note})</span>}
        </dd>
      </dl>
      <CompletionText prompt={sample.prompt} completion={completion} />
      {turn && <p className="muted small">{turn.thinkingTokens} thinking tokens</p>}
    </div>
  );
}
