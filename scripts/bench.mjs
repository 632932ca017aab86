#!/usr/bin/env node
// `npm run bench`: bundles bench/bench.ts for Node (vite.node.config.ts) and runs it with the WebGPU environment.
// Arguments after `--` go to the benchmark (e.g. `npm run bench -- --preset small --steps 50`).
import { buildAndRun } from './node-entry.mjs';

buildAndRun('bench');
