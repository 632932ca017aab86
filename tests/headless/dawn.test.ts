import { describe, expect, it } from 'vitest';
import { prepareAdd } from '../../src/gpu/ops/add';
import { dawnBackendFromEnv, dawnGpu } from '../../src/headless/dawn';
import { gpuContext, poisoned, randomF32, seeded, upload } from '../helpers/gpu';

describe('STOPTIME_DAWN_BACKEND', () => {
  it('defaults to Vulkan, accepts opengles, and names a bad value', () => {
    expect(dawnBackendFromEnv({})).toBe('vulkan');
    expect(dawnBackendFromEnv({ STOPTIME_DAWN_BACKEND: '' })).toBe('vulkan');
    expect(dawnBackendFromEnv({ STOPTIME_DAWN_BACKEND: 'vulkan' })).toBe('vulkan');
    expect(dawnBackendFromEnv({ STOPTIME_DAWN_BACKEND: 'opengles' })).toBe('opengles');
    expect(() => dawnBackendFromEnv({ STOPTIME_DAWN_BACKEND: 'metal' })).toThrow(
      /STOPTIME_DAWN_BACKEND: expected 'vulkan' or 'opengles', got "metal"/,
    );
  });
});

describe('the Dawn instance', () => {
  it('is one per backend for the whole process, so none is left to the garbage collector', async () => {
    const gpu = dawnGpu('vulkan').gpu;
    expect(dawnGpu('vulkan').gpu).toBe(gpu);
    expect(await gpu.requestAdapter()).not.toBeNull(); // and it is a working instance
  });
});

describe('timestamp queries in Node', () => {
  it('are not quantized (DAWN_NODE_FLAGS), so per-kernel profiles resolve microseconds', async () => {
    // Dawn's default rounds every timestamp down to a multiple of 65 536 ns; 24 passes each timed on its own then give
    // durations that are all multiples of it (checked with the flag removed: all 24 were). Unquantized, a CPU adapter's
    // nanosecond clock makes that all but impossible.
    const ctx = await gpuContext();
    expect(ctx.device.features.has('timestamp-query'), 'the device has timestamp queries').toBe(true);
    const passes = 24;
    const n = 4096;
    const rng = seeded(4);
    const [add] = prepareAdd(ctx, {
      a: upload(ctx, randomF32(rng, n)),
      b: upload(ctx, randomF32(rng, n)),
      out: poisoned(ctx, n),
      n,
    });
    const querySet = ctx.device.createQuerySet({ type: 'timestamp', count: 2 * passes });
    const bytes = 16 * passes;
    const resolve = ctx.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = ctx.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = ctx.device.createCommandEncoder();
    for (let i = 0; i < passes; i++) {
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      pass.setPipeline(add!.pipeline);
      pass.setBindGroup(0, add!.bindGroup);
      pass.dispatchWorkgroups(...add!.workgroups);
      pass.end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, read, 0, bytes);
    ctx.device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    for (const b of [querySet, resolve, read]) b.destroy();
    const durations = Array.from({ length: passes }, (_, i) => t[2 * i + 1]! - t[2 * i]!);
    expect(durations.every((d) => d >= 0n)).toBe(true);
    expect(durations.filter((d) => d % 65536n !== 0n).length).toBeGreaterThan(0);
  });
});
