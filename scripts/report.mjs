#!/usr/bin/env node
// `npm run report -- <run.json>... [--out docs/figures/name] [--title "…"] [--exclude key=value,…]`: bundles the
// report generator for Node (vite.node.config.ts) and runs it. It needs no WebGPU; the shared helper builds every
// Node entry point and runs this one.
import { buildAndRun } from './node-entry.mjs';

buildAndRun('report');
