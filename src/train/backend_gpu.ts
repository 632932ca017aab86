/**
 * The WebGPU backend: the GPU Trainer and the KV-cache Generator. A decoder reads the trainer's parameter buffer
 * directly, so evaluating the current model copies no weights.
 */
import type { GpuContext } from '../gpu/context';
import type { ModelConfig } from '../model/config';
import { Generator } from '../model/generate';
import type { Backend, DecodeBackend, TrainBackend, TrainerState } from './backend';
import type { OptimConfig } from './config';
import { Trainer } from './trainer';

export class GpuTrainBackend implements TrainBackend {
  readonly trainer: Trainer;
  constructor(ctx: GpuContext, config: ModelConfig, optim: OptimConfig, batchSize: number, seqLen: number) {
    this.trainer = new Trainer(ctx, config, optim, batchSize, seqLen);
  }
  get config() {
    return this.trainer.config;
  }
  get batchSize() {
    return this.trainer.batchSize;
  }
  get seqLen() {
    return this.trainer.seqLen;
  }
  step(batch: Parameters<Trainer['step']>[0]) {
    return this.trainer.step(batch);
  }
  evaluate(batch: Parameters<Trainer['evaluate']>[0]) {
    return this.trainer.evaluate(batch);
  }
  tokenLogprobs(batch: Parameters<Trainer['tokenLogprobs']>[0]) {
    return this.trainer.tokenLogprobs(batch);
  }
  readParams() {
    return this.trainer.readParams();
  }
  readState(): Promise<TrainerState> {
    return this.trainer.readState();
  }
  loadState(state: TrainerState): Promise<void> {
    return this.trainer.loadState(state);
  }
  drain() {
    return this.trainer.drain();
  }
  destroy() {
    this.trainer.destroy();
  }
}

export function createGpuBackend(ctx: GpuContext): Backend {
  return {
    kind: 'webgpu',
    adapterName: ctx.adapterName,
    createTrainer(config, optim, batchSize, seqLen) {
      return new GpuTrainBackend(ctx, config, optim, batchSize, seqLen);
    },
    createDecoder(source: TrainBackend, rows: number): DecodeBackend {
      if (!(source instanceof GpuTrainBackend)) throw new Error('the WebGPU backend decodes only its own trainers');
      const gen = new Generator(ctx, source.trainer.model, rows);
      return {
        rows,
        generate: (prompts, options) => gen.generate(prompts, options),
        destroy: () => gen.destroy(),
      };
    },
    destroy() {
      ctx.device.destroy();
    },
  };
}
