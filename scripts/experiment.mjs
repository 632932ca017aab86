#!/usr/bin/env node
// `npm run experiment -- <experiment.json>`: bundles the headless runner for Node (vite.node.config.ts) and runs it
// with the WebGPU environment (a GPU where Dawn finds one, SwiftShader otherwise).
import { buildAndRun } from './node-entry.mjs';

buildAndRun('experiment');
