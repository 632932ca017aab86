/**
 * End-to-end smoke test in real headless Chromium with WebGPU (SwiftShader where there is no GPU): build the app,
 * serve it, open it as a newcomer would, run the engine self-test in the worker, and check that the loss falls.
 * Fails on any console error, failed request or Content-Security-Policy violation, and compares the loss curve with the
 * same run on the CPU reference trainer (f64). Saves a screenshot to test-results/.
 */
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpuSelfTest } from '../../src/train/selftest';
import { type App, launchChromium, serveApp, watchProblems } from './browser';

let app: App;
let browser: Browser;

beforeAll(async () => {
  app = await serveApp('dist-e2e/smoke');
  browser = await launchChromium({ webgpu: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('the app in Chromium', () => {
  it('finds a WebGPU adapter in the worker and trains a model there: the loss falls', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 500 } });
    const problems = watchProblems(page);
    await page.goto(app.url);
    await expect
      .poll(() => page.getByTestId('webgpu-status').textContent(), { timeout: 30_000 })
      .toMatch(/^WebGPU adapter: /);
    await page.getByRole('button', { name: /Run engine self-test/ }).click();
    const losses = page.getByTestId('selftest-losses');
    await losses.waitFor({ state: 'attached', timeout: 180_000 });
    const curve = JSON.parse((await losses.textContent()) ?? '[]') as number[];
    expect(curve).toHaveLength(20);
    // ln(12) ≈ 2.48 at the start; 20 steps of the same run reach about a third of it in Node on Dawn.
    expect(curve[0]!).toBeGreaterThan(2);
    expect(curve.at(-1)!).toBeLessThan(0.75 * curve[0]!);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/e2e-selftest.png' });
    expect(problems).toEqual([]);
    // The same run on the CPU reference trainer (f64: the same weights, batches and schedule) gives the same curve: the
    // browser runs the very engine the other tests check. In Node on Dawn the GPU run stays within 3e-6 relative of it
    // over these 20 steps; Chromium's Dawn may compile the shaders to a different order of f32 operations, so compare
    // to 1e-3 relative, still far below the step-to-step change of the loss (1e-2 or more).
    const cpu = await runCpuSelfTest(20, 1);
    cpu.losses.forEach((l, i) => {
      expect(Math.abs(curve[i]! - l), `step ${i}`).toBeLessThanOrEqual(1e-3 * Math.abs(l));
    });
  }, 240_000);
});
