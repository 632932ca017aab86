/**
 * A `TensorRef` is a view of f32/u32/i32 elements inside a GPUBuffer: the unit every op binds.
 * Offsets are in elements; the engine aligns every tensor's start to 256 bytes (64 elements) so any view can be bound
 * (minStorageBufferOffsetAlignment is at most 256 on every WebGPU device).
 */
export interface TensorRef {
  readonly buffer: GPUBuffer;
  /** Start, in 4-byte elements. Must be a multiple of 64. */
  readonly offset: number;
  /** Length, in 4-byte elements. */
  readonly length: number;
}

export const ALIGN_ELEMENTS = 64;

export function alignElements(n: number): number {
  return Math.ceil(n / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
}

export function binding(t: TensorRef): GPUBufferBinding {
  if (t.offset % ALIGN_ELEMENTS !== 0) throw new Error(`tensor offset ${t.offset} is not 64-element aligned`);
  // WebGPU rejects zero-size bindings; bind one element for an empty tensor (never read).
  return { buffer: t.buffer, offset: t.offset * 4, size: Math.max(1, t.length) * 4 };
}

export function whole(buffer: GPUBuffer): TensorRef {
  return { buffer, offset: 0, length: buffer.size / 4 };
}

/** A sub-view of `t`, `offset` and `length` in elements relative to `t`. */
export function slice(t: TensorRef, offset: number, length: number): TensorRef {
  if (offset < 0 || offset + length > t.length) {
    throw new Error(`slice [${offset}, ${offset + length}) out of range of a tensor of ${t.length}`);
  }
  return { buffer: t.buffer, offset: t.offset + offset, length };
}

export function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

export function createStorage(device: GPUDevice, lengthElements: number, label: string): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(4, alignElements(lengthElements) * 4), usage: storageUsage() });
}

/** Queues a write of `data` (f32, i32 or u32 elements) to the start of tensor `t`. */
export function writeTensor(queue: GPUQueue, t: TensorRef, data: Float32Array | Int32Array | Uint32Array): void {
  if (data.length > t.length) throw new RangeError(`writing ${data.length} elements into a tensor of ${t.length}`);
  queue.writeBuffer(t.buffer, t.offset * 4, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** True when two tensor views share any byte of the same buffer. */
export function overlaps(a: TensorRef, b: TensorRef): boolean {
  if (a.buffer !== b.buffer) return false;
  const aLen = Math.max(1, a.length);
  const bLen = Math.max(1, b.length);
  return a.offset < b.offset + bLen && b.offset < a.offset + aLen;
}

/** True when two views are exactly the same range of the same buffer. */
export function sameTensor(a: TensorRef, b: TensorRef): boolean {
  return a.buffer === b.buffer && a.offset === b.offset && a.length === b.length;
}
