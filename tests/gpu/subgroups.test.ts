import { describe, expect, it } from 'vitest';
import reduceTree from '../../shaders/lib/reduce.wgsl?raw';
import reduceU32Tree from '../../shaders/lib/reduce_u32.wgsl?raw';
import { isSoftwareAdapter } from '../../src/gpu/context';
import { prepareDispatch, runDispatches } from '../../src/gpu/dispatch';
import {
  probeSubgroupLayout,
  reductionKernel,
  subgroupLayoutProblem,
  subgroupReductionsFor,
  withSubgroupReductions,
} from '../../src/gpu/subgroups';
import { gpuContext, keepForProcess, poisoned, randomF32, readF32, readU32, seeded, upload } from '../helpers/gpu';

/** Probe words for `invocations` threads in subgroups of n consecutive invocations. */
const linear = (invocations: number, n: number) =>
  Array.from({ length: invocations }, (_, lid) => [lid - (lid % n), n]).flat();

describe('the subgroup layout check', () => {
  it('accepts runs of n consecutive invocations, n a power of two (n ≥ the workgroup too)', () => {
    for (const n of [1, 4, 32, 64]) expect(subgroupLayoutProblem(linear(64, n), 64)).toBeNull();
    expect(subgroupLayoutProblem(linear(16, 16), 16)).toBeNull();
  });

  it('names what is wrong: a size that is not a power of two, mixed sizes, interleaved subgroups', () => {
    expect(subgroupLayoutProblem(linear(48, 24), 48)).toMatch(/size 24 is not a power of two/);
    const mixed = linear(64, 32);
    for (let lid = 32; lid < 64; lid++) mixed[2 * lid + 1] = 16;
    expect(subgroupLayoutProblem(mixed, 64)).toMatch(/different sizes in one workgroup \(32 and 16\)/);
    // Two subgroups of 4 taking alternate invocations: invocation 1 belongs to the one that starts at 1.
    const interleaved = Array.from({ length: 8 }, (_, lid) => [lid % 2, 4]).flat();
    expect(subgroupLayoutProblem(interleaved, 8)).toMatch(/invocation 1 is in a subgroup that starts at 1, not 0/);
  });

  it('the probe passes on this device exactly when the context offers subgroup reductions', async () => {
    const ctx = await gpuContext();
    const problem = await probeSubgroupLayout(ctx.device);
    expect(problem).toBe(ctx.subgroupProblem);
    expect(ctx.subgroupReductions).toBe(problem === null);
    if (!ctx.subgroups) expect(problem).toMatch(/no subgroups feature/);
    // CI's adapter (SwiftShader, subgroups of 4) must reach both forms of every reducing kernel.
    if (isSoftwareAdapter(ctx) && ctx.adapter.info.architecture === 'swiftshader') {
      expect(ctx.subgroupReductions).toBe(true);
    }
  });

  it('the probe reports a device without the feature, and a request for subgroups there is refused', async () => {
    const ctx = await gpuContext();
    const adapter = await ctx.gpu.requestAdapter();
    const device = await adapter!.requestDevice(); // no required features
    keepForProcess(adapter, device);
    expect(await probeSubgroupLayout(device)).toMatch(/no subgroups feature/);
    const without = { ...ctx, device, subgroups: false, subgroupReductions: false, subgroupProblem: 'none' };
    expect(() => subgroupReductionsFor(without, true, 'k')).toThrow(/k: subgroup reductions were asked for/);
    expect(subgroupReductionsFor(without, undefined, 'k')).toBe(false);
    expect(subgroupReductionsFor(ctx, false, 'k')).toBe(false);
    expect(subgroupReductionsFor(ctx, undefined, 'k')).toBe(ctx.subgroupReductions);
  });
});

describe('withSubgroupReductions', () => {
  it('swaps each included tree library for its subgroup form and enables subgroups', () => {
    const source = `const WG: u32 = 64u;\n${reduceTree.replace(/\n$/, '')}\n${reduceU32Tree.replace(/\n$/, '')}\nfn f() {}`;
    const out = withSubgroupReductions(source, 'k');
    expect(out.startsWith('enable subgroups;\n')).toBe(true);
    expect(out).not.toContain('for (var s = WG / 2u');
    expect(out.match(/subgroupElect\(\)/g)?.length).toBe(4);
    expect(out).toContain('fn f() {}');
    expect(reductionKernel('k', source, false)).toEqual({ name: 'k', source });
    expect(reductionKernel('k', source, true)).toEqual({ name: 'k+subgroups', source: out });
  });

  it('refuses a shader that includes neither library', () => {
    expect(() => withSubgroupReductions('fn main() {}', 'plain')).toThrow(/plain: includes neither lib\/reduce.wgsl/);
  });
});

// Both forms of the libraries against exact references. Each workgroup of WG threads reduces one seeded row twice
// (max, then sum; the second call reuses `red` right after the first), for f32 and u32. WG = 4 is one subgroup on
// SwiftShader (the one-partial path), 64 and 256 are 16 and 64 partials there.
// Tolerance: the f32 sums add WG values in U(−1, 1) in some order; any order's rounding is ≤ WG·2⁻²⁴·Σ|v| ≤ 2e-5 at WG
// 256, against an f64 sum. Maxima and u32 sums are exact.
describe('lib/reduce.wgsl and lib/reduce_subgroup.wgsl (and the u32 pair) against exact references', () => {
  for (const wg of [4, 64, 256]) {
    for (const subgroups of [false, true]) {
      it(`WG ${wg}, ${subgroups ? 'subgroup' : 'tree'} form, 5 workgroups`, async () => {
        const ctx = await gpuContext();
        if (subgroups && !ctx.subgroupReductions) return expect(ctx.subgroupProblem).not.toBeNull();
        const groups = 5;
        const rng = seeded(wg * 7 + (subgroups ? 1 : 0));
        const f = randomF32(rng, groups * wg);
        const u = Uint32Array.from({ length: groups * wg }, () => Math.floor(rng.next() * 1e6));
        const source = `const WG: u32 = ${wg}u;
var<workgroup> red: array<f32, ${wg}>;
var<workgroup> redU: array<u32, ${wg}>;
@group(0) @binding(0) var<storage, read> f: array<f32>;
@group(0) @binding(1) var<storage, read> u: array<u32>;
@group(0) @binding(2) var<storage, read_write> outF: array<f32>;
@group(0) @binding(3) var<storage, read_write> outU: array<u32>;
${reduceTree}
${reduceU32Tree}
@compute @workgroup_size(${wg}, 1, 1)
fn main(@builtin(workgroup_id) g: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = g.x * WG + lid;
  let mx = reduceMax(f[i], lid);
  let sm = reduceSum(f[i], lid);
  let mu = reduceMaxU(u[i], lid);
  let su = reduceSumU(u[i], lid);
  outF[i * 2u] = mx;
  outF[i * 2u + 1u] = sm;
  outU[i * 2u] = mu;
  outU[i * 2u + 1u] = su;
}`;
        const outF = poisoned(ctx, 2 * groups * wg);
        const outU = poisoned(ctx, 2 * groups * wg);
        const kernel = reductionKernel(`reduce_test_${wg}`, source, subgroups);
        expect(kernel.source.includes('subgroupAdd')).toBe(subgroups);
        runDispatches(ctx, [
          prepareDispatch(ctx, kernel, [upload(ctx, f), upload(ctx, u), outF, outU], null, [groups, 1, 1], 'reduce'),
        ]);
        const gotF = await readF32(ctx, outF);
        const gotU = await readU32(ctx, outU);
        for (let g = 0; g < groups; g++) {
          const row = Array.from(f.subarray(g * wg, (g + 1) * wg));
          const rowU = Array.from(u.subarray(g * wg, (g + 1) * wg));
          const max = Math.max(...row);
          const sum = row.reduce((s, v) => s + v, 0);
          const maxU = Math.max(...rowU);
          const sumU = rowU.reduce((s, v) => s + v, 0);
          for (let lid = 0; lid < wg; lid++) {
            const i = g * wg + lid;
            expect(gotF[2 * i], `max of group ${g} at ${lid}`).toBe(max);
            expect(Math.abs(gotF[2 * i + 1]! - sum), `sum of group ${g} at ${lid}`).toBeLessThan(2e-5);
            expect(gotU[2 * i], `u32 max of group ${g} at ${lid}`).toBe(maxU);
            expect(gotU[2 * i + 1], `u32 sum of group ${g} at ${lid}`).toBe(sumU);
          }
        }
      });
    }
  }
});
