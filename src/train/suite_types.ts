/**
 * The SFT-generalization lab's evaluation results (the second paper's question: does SFT with diverse instructions
 * and chain of thought generalise like RL?). A trained model is evaluated on every suite of its task: the
 * in-distribution suite, each instruction (rule) variant, each difficulty variant and the fake variant. One
 * `SuiteResult` per suite is saved with the run (`RunRecord.suiteResults`); the results matrix (rows = runs, i.e.
 * methods; columns = suites) is built from several runs (src/runs/matrix.ts).
 *
 * Sokoban is scored by episodes (prompt → action → environment step → next prompt, until solved or out of actions);
 * General Points and arithmetic by one answer per problem.
 *
 * Types only (plain JSON): the evaluation is src/train/suites.ts.
 */
import type { TaskId } from '../tasks/types';

/**
 * What a suite tests: 'id' the training distribution; 'instruction' the same problems under instructions or rules the
 * model was not trained on; 'difficulty' harder problems; 'fake' a prompt that states an unseen mapping while the
 * environment keeps the training one (an answer following the prompt fails, one in the training vocabulary
 * succeeds); 'training' a suite that is in distribution only for some methods (Sokoban's `diverse`).
 */
export type SuiteKind = 'id' | 'instruction' | 'difficulty' | 'fake' | 'training';

/** One turn of an episode (Sokoban) or the single answer (other tasks). */
export interface SuiteTurn {
  /** Generated text (special tokens spelled out). */
  completion: string;
  /** Action applied (Sokoban: 'Up' | 'Down' | 'Left' | 'Right') or the extracted answer; null when none parsed. */
  action: string | null;
  /** Verifier / parser note: 'ok', 'invalid: …', 'wrong-value: …'. */
  note: string;
  thinkingTokens: number;
}

/** A sample episode or answer kept for the matrix view's cell details. */
export interface SuiteSample {
  /** The first prompt (the level start state for Sokoban). */
  prompt: string;
  success: boolean;
  /** Why it failed or succeeded ('solved', 'out of actions', the verifier's reason). */
  reason: string;
  turns: SuiteTurn[];
  /** Sokoban: the start board as rendered text (`renderBoard`), replayed by the viewer with `turns[].action`. */
  board?: string;
}

export interface SuiteResult {
  task: TaskId;
  /** Variant id of the suite ('id', 'alpha', 'size8', 'fake_numeric', 'face_5', …). */
  suite: string;
  kind: SuiteKind;
  /** What one problem is: an episode (Sokoban) or an answer. */
  unit: 'episode' | 'answer';
  problems: number;
  successes: number;
  /**
   * Problems (episodes) that ended because a prompt did not fit the model's context with room to generate (Sokoban: at
   * any turn). They still count in `problems` and not in `successes`, so rates stay comparable across methods, but
   * the matrix flags them: such a failure says the context is too short, not that the model answered wrongly. Absent
   * in results saved before it was recorded: read as 0.
   */
  tooLong?: number;
  /** Mean thinking tokens per generated completion (every turn counts). */
  meanThinkingTokens: number;
  /**
   * Completions generated (Sokoban: every turn of every episode; other tasks: one per problem whose prompt fit), and
   * how many of them gave an answer the task parses, right or wrong: an action name the environment accepts, a
   * General Points formula. parsedTurns / turns separates "answered in the wrong vocabulary or format" from "answered
   * badly", which a success rate alone cannot (answer-only SFT on an instruction variant keeps writing the training
   * names). Absent in results saved before they were recorded.
   */
  turns?: number;
  parsedTurns?: number;
  /** Sokoban: mean actions used per episode; null for single-answer tasks. */
  meanActions: number | null;
  /**
   * Wall time of the suite's evaluation; where suites were evaluated together (evaluateSuitesWith), its share of their
   * wall time by prompts answered.
   */
  evalTimeMs: number;
  /** Up to SUITE_SAMPLES_PER_VERDICT successes and as many failures. */
  samples: SuiteSample[];
}

/** Sample episodes kept per verdict (success / failure) and suite. */
export const SUITE_SAMPLES_PER_VERDICT = 3;
