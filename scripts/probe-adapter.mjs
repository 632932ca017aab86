// Prints one JSON line describing the WebGPU adapter Dawn finds with the given backend ('default' or 'opengles'),
// or exits 1. Used by scripts/test.mjs before any test runs.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const backend = process.argv[2] ?? 'default';
const gpu = create(backend === 'opengles' ? ['backend=opengles'] : []);
const adapter = await gpu.requestAdapter(
  backend === 'opengles' ? { featureLevel: 'compatibility' } : { powerPreference: 'high-performance' },
);
if (!adapter) {
  console.error(`Dawn found no WebGPU adapter (backend: ${backend}).`);
  process.exit(1);
}
const i = adapter.info;
const device = await adapter.requestDevice();
device.destroy();
console.log(JSON.stringify({ backend, vendor: i.vendor, architecture: i.architecture, description: i.description }));
process.exit(0);
