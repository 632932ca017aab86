import { describe, expect, it } from 'vitest';
import { dawnBackendFromEnv, dawnGpu } from '../../src/headless/dawn';

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
