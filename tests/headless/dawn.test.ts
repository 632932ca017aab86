import { describe, expect, it } from 'vitest';
import { dawnBackendFromEnv } from '../../src/headless/dawn';

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
