/**
 * GPU memory accounting: a BufferPool creates the storage buffers of one model, trainer or generator and remembers
 * each one's label, size and whether a training step needs it, so memory reports (bench, the worker) and `destroy`
 * see every buffer.
 */
import type { GpuContext } from './context';
import { createStorage, type TensorRef, whole } from './tensor';

/** Tracks every buffer a model or trainer allocates, split into what the step must hold and the rest. */
export class BufferPool {
  readonly buffers: { label: string; bytes: number; required: boolean }[] = [];
  constructor(private readonly ctx: GpuContext) {}
  private readonly owned: GPUBuffer[] = [];
  tensor(label: string, elements: number, required: boolean): TensorRef {
    const buffer = createStorage(this.ctx.device, elements, label);
    this.owned.push(buffer);
    this.buffers.push({ label, bytes: buffer.size, required });
    return { ...whole(buffer), length: elements };
  }
  /** Bytes the step must hold: parameters, gradients, AdamW moments, saved activations. */
  get requiredBytes(): number {
    return this.buffers.filter((b) => b.required).reduce((s, b) => s + b.bytes, 0);
  }
  get allocatedBytes(): number {
    return this.buffers.reduce((s, b) => s + b.bytes, 0);
  }
  /** Frees every buffer this pool created. */
  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }
  note(label: string, bytes: number, required: boolean): void {
    this.buffers.push({ label, bytes, required });
  }
}
