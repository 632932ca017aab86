// Prints the WebGPU adapter Dawn finds, or exits 1. Used by scripts/test.mjs before any test runs.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('Dawn found no WebGPU adapter.');
  process.exit(1);
}
const i = adapter.info;
const device = await adapter.requestDevice();
device.destroy();
console.log(`WebGPU adapter: ${[i.vendor, i.architecture, i.description].filter(Boolean).join(' / ')}`);
process.exit(0);
