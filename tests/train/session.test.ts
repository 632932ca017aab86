/**
 * The sessions' shared base (src/train/session.ts) in Node, with a fake trainer: the loop's states and events, pause,
 * resume and stop between steps, checkpoints on schedule and at the end, weight reads between steps, a failing step,
 * and destroy. SftSession and GrpoSession run on it (tests/train/sft.test.ts, grpo.test.ts on a real backend).
 */
import { describe, expect, it } from 'vitest';
import type { Batch, DecodeBackend, StepStats, TrainBackend, TrainerState } from '../../src/train/backend';
import type { EvalItem } from '../../src/train/data';
import { METRIC } from '../../src/train/metrics';
import { DEFAULT_RUN_CONFIG, modelConfigFor, type RunConfig } from '../../src/train/run_config';
import { type SessionEvent, TrainingSessionBase } from '../../src/train/session';

/** A trainer whose step k (0-based) has loss k and fails when k is `failAt`; its state's step counts its steps. */
class FakeTrainer implements TrainBackend {
  readonly config = modelConfigFor(DEFAULT_RUN_CONFIG);
  readonly batchSize = 2;
  readonly seqLen = 4;
  steps = 0;
  drains = 0;
  destroyed = false;
  constructor(private readonly failAt = -1) {}
  async step(_batch: Batch): Promise<StepStats> {
    const k = this.steps++;
    if (k === this.failAt) throw new Error(`step ${k} failed`);
    return { step: k, loss: k, gradNorm: 1, learningRate: 0.1 };
  }
  async evaluate(): Promise<number> {
    return 0;
  }
  async tokenLogprobs(): Promise<Float32Array> {
    return new Float32Array(0);
  }
  async readParams(): Promise<Float32Array> {
    return new Float32Array(1);
  }
  async readState(): Promise<TrainerState> {
    return { params: new Float32Array(1), m: null, v: null, step: this.steps };
  }
  async loadState(): Promise<void> {}
  async drain(): Promise<void> {
    this.drains++;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const config: RunConfig = { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, steps: 5 } };
const batch: Batch = { tokens: new Int32Array(8), targets: new Int32Array(8), weights: new Float32Array(8) };

/** One step at a time, a checkpoint every 2 steps, no samples. */
class TestSession extends TrainingSessionBase {
  protected readonly ready = Promise.resolve();
  protected readonly contextLength = 64;
  released = false;
  constructor(
    readonly trainer: FakeTrainer,
    onEvent: (e: SessionEvent) => void,
  ) {
    super(config, onEvent, 0);
  }
  get trainBackend(): TrainBackend {
    return this.trainer;
  }
  protected getDecoder(): DecodeBackend {
    throw new Error('no decoder in this test');
  }
  protected createDecoder(): DecodeBackend {
    throw new Error('no decoder in this test');
  }
  protected async trainStep(): Promise<void> {
    const stats = await this.trainer.step(batch);
    this.stepsDone = stats.step + 1;
    this.window.addStep({ [METRIC.trainLoss]: stats.loss });
    this.flushMetrics();
    await this.periodicWork(this.stepsDone);
  }
  protected releaseModels(): void {
    this.released = true;
    this.trainer.destroy();
  }
  protected get totalSteps(): number {
    return 5;
  }
  protected get tokensPerStep(): number {
    return 8;
  }
  protected get samplesEverySteps(): number {
    return 0;
  }
  protected get checkpointEverySteps(): number {
    return 2;
  }
  protected samplePrompts(): readonly EvalItem[] {
    return [];
  }
  protected get sampleMaxNewTokens(): number {
    return 8;
  }
}

/** Each event in short form: status:<state>@step, loss@step, checkpoint@step (with the state's step). */
const brief = (e: SessionEvent): string => {
  if (e.type === 'status') return `${e.state}@${e.step}`;
  if (e.type === 'metrics') return `loss ${e.values[METRIC.trainLoss]}@${e.step}`;
  if (e.type === 'checkpoint') return `checkpoint ${e.state.step}@${e.step}`;
  return `${e.type}@${e.step}`;
};

describe('TrainingSessionBase', () => {
  it('runs every step, with checkpoints on schedule and at the end, then finishes', async () => {
    const events: string[] = [];
    const s = new TestSession(new FakeTrainer(), (e) => events.push(brief(e)));
    expect(s.status).toBe('idle');
    expect(await s.run()).toEqual({ state: 'finished', steps: 5 });
    expect(events).toEqual([
      'running@0',
      'loss 0@1',
      'loss 1@2',
      'checkpoint 2@2',
      'loss 2@3',
      'loss 3@4',
      'checkpoint 4@4',
      'loss 4@5',
      'checkpoint 5@5', // the closing one: none is scheduled after the last step
      'finished@5',
    ]);
    expect(s.status).toBe('finished');
  });

  it('pauses and stops between steps; a second run continues where the first stopped', async () => {
    const events: string[] = [];
    let s!: TestSession;
    s = new TestSession(new FakeTrainer(), (e) => {
      events.push(brief(e));
      if (e.type === 'metrics' && e.step === 1) s.pause();
      if (e.type === 'status' && e.state === 'paused') setTimeout(() => s.resume(), 1);
      if (e.type === 'metrics' && e.step === 2) s.stop();
    });
    expect(await s.run()).toEqual({ state: 'stopped', steps: 2 });
    expect(events).toEqual([
      'running@0',
      'loss 0@1',
      'paused@1',
      'running@1',
      'loss 1@2',
      'checkpoint 2@2',
      'stopped@2',
    ]);
    // A stop or pause with nothing running is a no-op, and running again continues from step 2.
    s.stop();
    s.pause();
    events.length = 0;
    expect(await s.run()).toEqual({ state: 'finished', steps: 5 });
    expect(events[0]).toBe('running@2');
    expect(events.at(-1)).toBe('finished@5');
    await expect(Promise.all([s.run(), s.run()])).rejects.toThrow(/already training/);
  });

  it('reads the weights between steps, after draining the trainer', async () => {
    const trainer = new FakeTrainer();
    let s!: TestSession;
    const reads: Promise<TrainerState>[] = [];
    s = new TestSession(trainer, (e) => {
      if (e.type === 'metrics' && e.step === 3) reads.push(s.readState());
    });
    await s.run();
    const state = await reads[0]!;
    expect(state.step).toBeGreaterThanOrEqual(3); // taken at a step boundary after step 3, not in the middle of one
    expect(trainer.drains).toBeGreaterThan(0);
  });

  it('a failing step ends the run with an error status and rejects', async () => {
    const events: string[] = [];
    const s = new TestSession(new FakeTrainer(2), (e) => events.push(e.type === 'status' ? brief(e) : e.type));
    await expect(s.run()).rejects.toThrow('step 2 failed');
    expect(s.status).toBe('error');
    expect(events.at(-1)).toBe('error@2');
  });

  it('destroy stops the run, frees the models once and refuses later calls', async () => {
    let s!: TestSession;
    let destroying: Promise<void> | null = null;
    s = new TestSession(new FakeTrainer(), (e) => {
      if (e.type === 'metrics' && e.step === 1) destroying = s.destroy();
    });
    expect(await s.run()).toEqual({ state: 'stopped', steps: 1 });
    await destroying;
    expect(s.released).toBe(true);
    expect(s.trainer.destroyed).toBe(true);
    await expect(s.run()).rejects.toThrow(/destroyed/);
    await expect(s.readState()).rejects.toThrow(/destroyed/);
  });
});
