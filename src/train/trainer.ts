/**
 * The training step, on the GPU from batch to updated weights, in ONE command buffer:
 *
 *   upload batch → forward → weighted cross-entropy (token losses, loss, dlogits) → backward
 *   → global gradient norm and clip scale → AdamW (warmup + cosine learning rate) → copy loss and norm to a
 *   staging buffer
 *
 * Nothing is read back inside a step. `step()` returns a promise of the step's loss and gradient norm that settles
 * when the GPU gets there (a ring of staging buffers is mapped asynchronously); the caller can queue the next step
 * without awaiting it. At most `maxInFlight` steps are queued: the next `step()` waits for the oldest, which keeps
 * the queue (and the memory it pins) bounded.
 *
 * SFT and GRPO share this step: they differ only in the batch's targets and per-token weights.
 *
 * `readState()` / `loadState()` save and restore everything the next step depends on (weights, AdamW moments, step
 * counter), so a run resumed from a saved state continues with exactly the numbers it would have had.
 */
import { buildTokenIndex } from '../cpu/embedding';
import { BufferPool } from '../gpu/buffer_pool';
import { assertNoErrors, type GpuContext } from '../gpu/context';
import { type Dispatch, encodeDispatches } from '../gpu/dispatch';
import { ADAMW_HYPER_ELEMENTS, packDecayMask, prepareAdamW, writeAdamWHyper } from '../gpu/ops/adamw';
import { globalNormScratchElements, prepareGlobalNorm } from '../gpu/ops/global_norm';
import { type TensorRef, writeTensor } from '../gpu/tensor';
import { type ModelConfig, validateModelConfig } from '../model/config';
import { checkBatchFits, createGpuGpt, type GptPasses, type GpuGpt, prepareGptPasses } from '../model/gpt';
import { decayMask, initParams } from '../model/params';
import type { Batch, StepStats, TrainerState } from './backend';
import { checkBatch, checkTrainerState } from './checks';
import { learningRateAt, type OptimConfig, validateOptimConfig } from './config';

export interface MemoryReport {
  /** Bytes the step must hold: parameters, gradients, AdamW moments, saved activations. */
  requiredBytes: number;
  /** Every storage and readback buffer this trainer allocated (per-dispatch uniform buffers, 16–32 bytes each, aside). */
  allocatedBytes: number;
}

const READBACK_FLOATS = 4; // loss, gradNorm, clipScale, unused

export class Trainer {
  readonly model: GpuGpt;
  readonly passes: GptPasses;
  private readonly optimizer: Dispatch[];
  private readonly allStep: Dispatch[];
  private readonly evalDispatches: Dispatch[];
  private readonly hyper: TensorRef;
  /** AdamW first and second moments, in the parameter arena's layout. */
  private readonly m: TensorRef;
  private readonly v: TensorRef;
  private readonly normOut: TensorRef;
  private readonly staging: GPUBuffer[] = [];
  private readonly inFlight: Promise<unknown>[] = [];
  /**
   * Per staging buffer, the readback that last used it (settled once the buffer is unmapped). `drain()` and
   * `evaluate()` also take entries off `inFlight`, so the bound on `inFlight` alone does not prove a slot is free.
   */
  private readonly slotBusy: Promise<unknown>[] = [];
  private stepIndex = 0;
  /** Settles when the last queued operation (step submitted, evaluation or weight read finished) is done. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly ctx: GpuContext,
    readonly config: ModelConfig,
    readonly optim: OptimConfig,
    readonly batchSize: number,
    readonly seqLen: number,
    initial: Float32Array = initParams(config),
    readonly maxInFlight = 3,
  ) {
    // Everything that can be wrong with the inputs is checked before the first GPU allocation.
    validateModelConfig(config, ctx.device.limits);
    validateOptimConfig(optim);
    checkBatchFits(config, batchSize, seqLen, ctx.device.limits);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 16) {
      throw new RangeError(`maxInFlight must be an integer in [1, 16], got ${maxInFlight}`);
    }
    const pool = new BufferPool(ctx);
    this.model = createGpuGpt(ctx, config, initial, pool);
    this.passes = prepareGptPasses(this.model, batchSize, seqLen);
    const n = this.model.layout.totalElements;
    // Fresh storage buffers are zero-filled: the moments start at 0.
    const m = pool.tensor('adam.m', n, true);
    const v = pool.tensor('adam.v', n, true);
    this.m = m;
    this.v = v;
    const maskBits = packDecayMask(decayMask(this.model.layout));
    const decayMaskBits = pool.tensor('adam.decayMask', maskBits.length, false);
    writeTensor(ctx.device.queue, decayMaskBits, maskBits);
    this.hyper = pool.tensor('adam.hyper', ADAMW_HYPER_ELEMENTS, false);
    this.normOut = pool.tensor('gradNorm', 2, false);
    const normScratch = pool.tensor('gradNorm.scratch', globalNormScratchElements(n), false);
    const grads = this.model.grads;
    const norm = prepareGlobalNorm(ctx, {
      grads,
      scratch: normScratch,
      out: this.normOut,
      n,
      maxNorm: optim.gradClipNorm,
    });
    const adam = prepareAdamW(ctx, {
      params: this.model.params,
      grads,
      m,
      v,
      decayMaskBits,
      hyper: this.hyper,
      clip: this.normOut,
      n,
    });
    this.optimizer = [...norm, ...adam];
    this.allStep = this.stepDispatches();
    this.evalDispatches = [...this.passes.forward, ...this.passes.lossAndDlogits];
    for (let i = 0; i < maxInFlight; i++) {
      this.staging.push(
        ctx.device.createBuffer({
          label: `readback${i}`,
          size: READBACK_FLOATS * 4,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        }),
      );
      pool.note(`readback${i}`, READBACK_FLOATS * 4, false);
    }
  }

  get stepsTaken(): number {
    return this.stepIndex;
  }

  memory(): MemoryReport {
    return { requiredBytes: this.model.pool.requiredBytes, allocatedBytes: this.model.pool.allocatedBytes };
  }

  /** Validates and writes a batch into the input buffers (queued before the next submit). */
  private upload(batch: Batch): void {
    const { B, T, inputs } = this.passes;
    checkBatch(batch, B, T, this.config.vocabSize);
    const index = buildTokenIndex(batch.tokens, this.config.vocabSize);
    const q = this.ctx.device.queue;
    const write = (t: TensorRef, a: Float32Array | Int32Array | Uint32Array) => writeTensor(q, t, a);
    write(inputs.tokens, batch.tokens);
    write(inputs.targets, batch.targets);
    write(inputs.weights, batch.weights);
    write(inputs.tokenOffsets, index.tokenOffsets);
    write(inputs.positionsByToken, index.positionsByToken);
  }

  /**
   * Queues one training step. The promise settles with its stats once the GPU has run it. Calls may be made without
   * awaiting: they are submitted in call order. Don't modify `batch` until its promise settles.
   */
  step(batch: Batch): Promise<StepStats> {
    return this.enqueue(() => this.submitStep(batch)).then((s) => s.result);
  }

  /** Runs `op` after every operation queued before it (steps, evaluations, weight reads), in call order. */
  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async submitStep(batch: Batch): Promise<{ result: Promise<StepStats> }> {
    if (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
    const slot = this.stepIndex % this.maxInFlight;
    await this.slotBusy[slot];
    this.upload(batch);
    const step = this.stepIndex++;
    const learningRate = learningRateAt(this.optim, step);
    const o = this.optim;
    writeAdamWHyper(this.ctx, this.hyper, {
      lr: learningRate,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      step: step + 1,
    });
    const staging = this.staging[slot]!;
    const encoder = this.ctx.device.createCommandEncoder({ label: `train step ${step}` });
    const pass = encoder.beginComputePass({ label: 'train step' });
    encodeDispatches(pass, this.allStep);
    pass.end();
    encoder.copyBufferToBuffer(this.passes.loss.buffer, this.passes.loss.offset * 4, staging, 0, 4);
    encoder.copyBufferToBuffer(this.normOut.buffer, this.normOut.offset * 4, staging, 4, 8);
    this.ctx.device.queue.submit([encoder.finish()]);
    const result = this.readback(staging).then((r) => ({ step, loss: r[0]!, gradNorm: r[1]!, learningRate }));
    const settled = result.catch(() => {});
    this.slotBusy[slot] = settled;
    this.inFlight.push(settled);
    return { result };
  }

  /** Frees the trainer's GPU memory; the trainer is unusable afterwards. */
  destroy(): void {
    for (const b of this.staging) b.destroy();
    this.model.pool.destroy();
  }

  /** Every dispatch of one training step, in order (for profiling). */
  stepDispatches(): Dispatch[] {
    return [...this.passes.forward, ...this.passes.lossAndDlogits, ...this.passes.backward, ...this.optimizer];
  }

  /** Waits until every queued step has run. */
  async drain(): Promise<void> {
    await this.tail;
    await this.settleInFlight();
  }

  /** Waits for the readbacks of every submitted step. */
  private async settleInFlight(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /**
   * Loss of a batch without updating weights (held-out loss). Queued like a step: it runs after every step queued
   * before it, and steps queued after it wait for it.
   */
  evaluate(batch: Batch): Promise<number> {
    return this.enqueue(() => this.runEvaluate(batch));
  }

  private async runEvaluate(batch: Batch): Promise<number> {
    await this.settleInFlight();
    this.upload(batch);
    const staging = this.staging[0]!;
    const encoder = this.ctx.device.createCommandEncoder({ label: 'evaluate' });
    const pass = encoder.beginComputePass({ label: 'evaluate' });
    encodeDispatches(pass, this.evalDispatches);
    pass.end();
    encoder.copyBufferToBuffer(this.passes.loss.buffer, this.passes.loss.offset * 4, staging, 0, 4);
    this.ctx.device.queue.submit([encoder.finish()]);
    return (await this.readback(staging))[0]!;
  }

  /**
   * log π(targets[i]) under the current weights for every position [B·T] (0 where the target is −1): a forward and
   * cross-entropy pass with no backward and no update (the kernel's per-token loss is −log π). Queued like a step:
   * it sees every step queued before it, and steps queued after it wait for it. `batch.weights`, if present, is
   * ignored (the pass runs with zero weights).
   */
  tokenLogprobs(batch: Pick<Batch, 'tokens' | 'targets'>): Promise<Float32Array> {
    return this.enqueue(async () => {
      await this.settleInFlight();
      const N = this.batchSize * this.seqLen;
      this.upload({ tokens: batch.tokens, targets: batch.targets, weights: new Float32Array(N) });
      const encoder = this.ctx.device.createCommandEncoder({ label: 'token logprobs' });
      const pass = encoder.beginComputePass({ label: 'token logprobs' });
      encodeDispatches(pass, this.evalDispatches);
      pass.end();
      this.ctx.device.queue.submit([encoder.finish()]);
      const losses = (await this.readTensors([this.passes.tokenLosses]))[0]!;
      const out = new Float32Array(N);
      for (let i = 0; i < N; i++) out[i] = batch.targets[i] === -1 ? 0 : -losses[i]!;
      return out;
    });
  }

  private async readback(staging: GPUBuffer): Promise<Float32Array> {
    await Promise.race([staging.mapAsync(GPUMapMode.READ), this.ctx.lost]);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    assertNoErrors(this.ctx);
    return values;
  }

  /** Reads the current weights back (for saving or checkpoints). */
  readParams(): Promise<Float32Array> {
    return this.enqueue(() => this.copyParams());
  }

  private async copyParams(): Promise<Float32Array> {
    await this.settleInFlight();
    return (await this.readTensors([this.model.params]))[0]!;
  }

  /** Copies whole tensors back through one staging buffer (one map for all of them). */
  private async readTensors(tensors: TensorRef[]): Promise<Float32Array[]> {
    const size = tensors.reduce((s, t) => s + t.length * 4, 0);
    const buf = this.ctx.device.createBuffer({
      label: 'tensor readback',
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const enc = this.ctx.device.createCommandEncoder();
      let at = 0;
      for (const t of tensors) {
        enc.copyBufferToBuffer(t.buffer, t.offset * 4, buf, at, t.length * 4);
        at += t.length * 4;
      }
      this.ctx.device.queue.submit([enc.finish()]);
      const all = await this.readback(buf);
      const out: Float32Array[] = [];
      let from = 0;
      for (const t of tensors) {
        out.push(all.slice(from, from + t.length));
        from += t.length;
      }
      return out;
    } finally {
      buf.destroy();
    }
  }

  /**
   * Everything the next step depends on: weights, AdamW moments and the number of steps taken. Queued like a step:
   * it sees every step queued before it.
   */
  readState(): Promise<TrainerState> {
    return this.enqueue(async () => {
      await this.settleInFlight();
      const [params, m, v] = await this.readTensors([this.model.params, this.m, this.v]);
      return { params: params!, m: m!, v: v!, step: this.stepIndex };
    });
  }

  /**
   * Replaces weights, AdamW moments (zeros where `state.m` / `state.v` is null) and the step counter, after every
   * operation queued before it; steps queued after it start from the loaded state (step index `state.step`, so the
   * learning-rate schedule and bias correction continue where the saved run stopped).
   *
   * The state is checked (lengths, finite values, v ≥ 0, integer step) and copied before anything is queued: a bad
   * state throws a RangeError naming the field from this call itself, and the caller may reuse its arrays at once.
   */
  loadState(state: TrainerState): Promise<void> {
    const n = this.model.layout.totalElements;
    const s = checkTrainerState(state, n);
    return this.enqueue(async () => {
      await this.settleInFlight();
      const q = this.ctx.device.queue;
      writeTensor(q, this.model.params, s.params);
      writeTensor(q, this.m, s.m ?? new Float32Array(n));
      writeTensor(q, this.v, s.v ?? new Float32Array(n));
      this.stepIndex = s.step;
    });
  }
}
