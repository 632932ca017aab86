/**
 * A `Dispatch` is a compute dispatch prepared once (pipeline, bind group, uniform buffer, workgroup counts) and
 * encoded many times. The training step and the sampler are lists of prepared dispatches, so a step allocates
 * nothing and records one command buffer.
 */
import { type GpuContext, getPipeline } from './context';
import { binding, type TensorRef } from './tensor';

export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

export interface KernelSpec {
  /** Shader label (the file name without extension), used for pipeline caching and error messages. */
  readonly name: string;
  readonly source: string;
  readonly entryPoint?: string;
  readonly constants?: Record<string, number>;
}

/**
 * Uniform values, written as a little struct of 32-bit words in declaration order. Each value is tagged with its WGSL
 * type so the bit pattern is right: `u` for u32, `i` for i32, `f` for f32.
 */
export type UniformWord = { u: number } | { i: number } | { f: number };

export function createUniform(device: GPUDevice, words: readonly UniformWord[], label: string): GPUBuffer {
  const count = Math.max(4, Math.ceil(words.length / 4) * 4);
  const data = new ArrayBuffer(count * 4);
  const u32 = new Uint32Array(data);
  const i32 = new Int32Array(data);
  const f32 = new Float32Array(data);
  words.forEach((w, idx) => {
    if ('u' in w) {
      if (!Number.isInteger(w.u) || w.u < 0 || w.u > 0xffffffff) throw new Error(`${label}: bad u32 ${w.u}`);
      u32[idx] = w.u;
    } else if ('i' in w) i32[idx] = w.i;
    else f32[idx] = w.f;
  });
  const buffer = device.createBuffer({
    label,
    size: count * 4,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/**
 * Prepares a dispatch. `tensors` are bound at bindings 0..n-1 in order; if `uniform` is given it is bound at binding n.
 */
export function prepareDispatch(
  ctx: GpuContext,
  spec: KernelSpec,
  tensors: readonly TensorRef[],
  uniform: readonly UniformWord[] | null,
  workgroups: readonly [number, number, number],
  label = spec.name,
): Dispatch {
  const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  for (const w of workgroups) {
    if (!Number.isInteger(w) || w < 0 || w > limit) {
      throw new Error(`${label}: workgroup count ${w} outside [0, ${limit}]`);
    }
  }
  const pipeline = getPipeline(ctx, spec.name, spec.source, spec.constants, spec.entryPoint);
  const entries: GPUBindGroupEntry[] = tensors.map((t, i) => ({ binding: i, resource: binding(t) }));
  if (uniform) {
    entries.push({
      binding: tensors.length,
      resource: { buffer: createUniform(ctx.device, uniform, `${label}.uniform`) },
    });
  }
  const bindGroup = ctx.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
  return { label, pipeline, bindGroup, workgroups };
}

export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    if (d.workgroups[0] === 0 || d.workgroups[1] === 0 || d.workgroups[2] === 0) continue;
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/** Records `dispatches` in one compute pass and submits them. */
export function runDispatches(ctx: GpuContext, dispatches: readonly Dispatch[], label = 'dispatches'): void {
  const encoder = ctx.device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  encodeDispatches(pass, dispatches);
  pass.end();
  ctx.device.queue.submit([encoder.finish()]);
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/**
 * Lays `count` workgroups out as a 2D grid (x ≤ the device's per-dimension limit). Shaders recover the linear index as
 * `wg.y · num_workgroups.x + wg.x` and bounds-check it (the last row of the grid may overshoot `count`).
 */
export function linearGrid(ctx: GpuContext, count: number): [number, number, number] {
  const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= limit) return [count, 1, 1];
  const y = ceilDiv(count, limit);
  return [ceilDiv(count, y), y, 1];
}
