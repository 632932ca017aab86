/**
 * Shared set-up of the end-to-end tests: build the app once per file, serve the build, and launch Debian's Chromium
 * headless with WebGPU on SwiftShader (or, with `webgpu: false`, as a browser without WebGPU).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const COMMON_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];

export interface App {
  url: string;
  close(): Promise<void>;
}

/**
 * A production build made by the test command before the browser tests (`npm test` sets it, see scripts/test.mjs),
 * served by every test file instead of a build of its own.
 */
export const PREBUILT_ENV = 'STOPTIME_E2E_PREBUILT';

/** Builds the production app into `outDir` (what users get, not a development build). */
export async function buildApp(outDir: string): Promise<void> {
  // Vitest sets NODE_ENV=test, which would make this a development build (React's slow dev runtime).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ logLevel: 'warn', mode: 'production', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/**
 * Serves the app on a free local port: the build named by STOPTIME_E2E_PREBUILT when set (one build for all the
 * browser test files), else a fresh build into `outDir`.
 */
export async function serveApp(outDir: string): Promise<App> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  const prebuilt = process.env[PREBUILT_ENV];
  if (prebuilt) {
    if (!existsSync(`${prebuilt}/index.html`)) throw new Error(`${PREBUILT_ENV}=${prebuilt} holds no built app`);
  } else {
    await buildApp(outDir);
  }
  const server: PreviewServer = await preview({
    logLevel: 'warn',
    build: { outDir: prebuilt || outDir },
    preview: { port: 0, host: '127.0.0.1' },
  });
  const url = server.resolvedUrls?.local[0] ?? '';
  if (!/^http:\/\/127\.0\.0\.1:\d+\/$/.test(url)) throw new Error(`unexpected preview URL '${url}'`);
  return { url, close: () => server.close() };
}

/** Headless Chromium; `webgpu: false` launches it without the WebGPU flags (navigator.gpu gives no adapter). */
export function launchChromium(options: { webgpu: boolean }): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: options.webgpu ? [...COMMON_FLAGS, ...WEBGPU_FLAGS] : [...COMMON_FLAGS, '--disable-features=WebGPU'],
  });
}

/** Collects console errors, page errors, failed requests and CSP violations of a page. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  return problems;
}

/**
 * Lowers the scheduling priority (nice 19) of every thread of Chromium's GPU processes, again every 250 ms until the
 * returned function is called (new SwiftShader threads appear as work starts).
 *
 * Why: on a software adapter the "GPU" is SwiftShader running on the same CPU cores as the page. On a 2-core machine
 * it keeps both cores busy while the model trains, and the page's main-thread tasks (a 10–15 ms chart update) get
 * preempted and stretch past 50 ms of wall time. With a real GPU that work is not on the CPU at all. Deprioritising
 * the software GPU lets the long-task check measure what the page itself does. (Linux; elsewhere a no-op.)
 */
export function deprioritiseSoftwareGpu(): () => void {
  const renice = () => {
    let pids: string[] = [];
    try {
      pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmd.includes('chrom') || !cmd.includes('--type=gpu-process')) continue;
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          try {
            if (getPriority(Number(tid)) < 19) setPriority(Number(tid), 19);
          } catch {
            // The thread ended.
          }
        }
      } catch {
        // The process ended or is not readable.
      }
    }
  };
  renice();
  const timer = setInterval(renice, 250);
  return () => clearInterval(timer);
}
