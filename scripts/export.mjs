#!/usr/bin/env node
// `npm run export -- <run file or experiment file> --out <dir>`: bundles the TRL exporter for Node
// (vite.node.config.ts, src/headless/export_cli.ts) and runs it. It needs no WebGPU; the shared helper builds every
// Node entry point and runs this one.
import { buildAndRun } from './node-entry.mjs';

buildAndRun('export');
