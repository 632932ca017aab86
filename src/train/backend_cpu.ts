/**
 * The CPU backend, for browsers without WebGPU: the CPU trainer (cpu_trainer.ts, the reference model plus AdamW) and
 * the CPU generator (src/model/generate_cpu.ts). Slow but exact; a session sees the same interfaces as on the GPU.
 *
 * A decoder reads its trainer's live weight array (no copy), so it always generates with the current weights. Its
 * `generate` runs in the trainer's queue: after every step queued before the call and before any step queued after
 * it, so a step never changes the weights in the middle of a generation.
 */
import { CpuGenerator } from '../model/generate_cpu';
import type { Backend, DecodeBackend, TrainBackend } from './backend';
import { CpuTrainer } from './cpu_trainer';

export function createCpuBackend(): Backend {
  return {
    kind: 'cpu',
    adapterName: 'CPU reference',
    createTrainer(config, optim, batchSize, seqLen) {
      return new CpuTrainer(config, optim, batchSize, seqLen);
    },
    createDecoder(source: TrainBackend, rows: number): DecodeBackend {
      if (!(source instanceof CpuTrainer)) throw new Error('the CPU backend decodes only its own trainers');
      const gen = new CpuGenerator(source.config, () => source.currentParams(), rows);
      return {
        rows: gen.B,
        generate: (prompts, options) => source.exclusive(() => gen.generate(prompts, options)),
        destroy: () => {},
      };
    },
    destroy() {},
  };
}
