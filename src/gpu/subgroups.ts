/**
 * Subgroup reductions: where the device has the `subgroups` feature, the kernels that reduce with lib/reduce.wgsl and
 * lib/reduce_u32.wgsl (KV-cache attention, the sampler, the cross-entropy) can run lib/reduce_subgroup.wgsl and
 * lib/reduce_u32_subgroup.wgsl instead: two workgroup barriers per reduction instead of log2(WG) + 2. The tree form
 * stays the portable path; both are tested on every adapter that has subgroups (SwiftShader has them, size 4).
 *
 * The subgroup form places each subgroup's partial at red[lid / n], which holds only if subgroups are runs of n
 * consecutive local_invocation_index values. WGSL does not promise that, so `probeSubgroupLayout` checks it on the
 * device once (createGpuContext) and the context offers subgroup reductions only when it holds.
 */
import reduceTree from '../../shaders/lib/reduce.wgsl?raw';
import reduceSubgroup from '../../shaders/lib/reduce_subgroup.wgsl?raw';
import reduceU32Tree from '../../shaders/lib/reduce_u32.wgsl?raw';
import reduceU32Subgroup from '../../shaders/lib/reduce_u32_subgroup.wgsl?raw';
import probeSource from '../../shaders/subgroup_probe.wgsl?raw';
import type { GpuContext } from './context';

/** Each tree library's text as an include expands it (scripts/wgsl_include.ts drops the final newline), and its swap. */
const SWAPS: readonly (readonly [string, string])[] = [
  [reduceTree, reduceSubgroup],
  [reduceU32Tree, reduceU32Subgroup],
].map(([tree, sub]) => [(tree as string).replace(/\n$/, ''), (sub as string).replace(/\n$/, '')] as const);

const swapped = new Map<string, string>();

/**
 * The subgroup form of a shader that includes lib/reduce.wgsl or lib/reduce_u32.wgsl (or both): each included tree
 * library replaced by its subgroup library, `enable subgroups;` first. Throws when the shader includes neither.
 */
export function withSubgroupReductions(source: string, label: string): string {
  const cached = swapped.get(source);
  if (cached !== undefined) return cached;
  let out = source;
  let count = 0;
  for (const [tree, sub] of SWAPS) {
    const at = out.indexOf(tree);
    if (at < 0) continue;
    out = out.slice(0, at) + sub + out.slice(at + tree.length);
    count++;
  }
  if (count === 0) {
    throw new Error(`${label}: includes neither lib/reduce.wgsl nor lib/reduce_u32.wgsl, so it has no subgroup form`);
  }
  const result = `enable subgroups;\n${out}`;
  swapped.set(source, result);
  return result;
}

/**
 * Whether a kernel that reduces with lib/reduce.wgsl uses its subgroup form: `requested` when given (tests reach both
 * forms with it; true on a context without subgroup reductions is an error), otherwise whenever the context offers it.
 */
export function subgroupReductionsFor(ctx: GpuContext, requested: boolean | undefined, label: string): boolean {
  if (requested === true && !ctx.subgroupReductions) {
    throw new Error(`${label}: subgroup reductions were asked for, but this device does not offer them`);
  }
  return requested ?? ctx.subgroupReductions;
}

/** The kernel spec's name and source for a reducing kernel in the chosen form (the name keys the module cache). */
export function reductionKernel(
  name: string,
  source: string,
  subgroups: boolean,
): { readonly name: string; readonly source: string } {
  return subgroups ? { name: `${name}+subgroups`, source: withSubgroupReductions(source, name) } : { name, source };
}

/**
 * Workgroup sizes the probe checks: every size a subgroup-reducing kernel uses (attention_decode 64, the cross-entropy
 * 64 and 256, the sampler 32 to 256 by the vocabulary: samplingWorkgroupSize). A compiler may pick a pipeline's
 * subgroup width by its workgroup size, so each size is probed on its own.
 */
export const PROBED_WORKGROUPS = [32, 64, 128, 256] as const;

/**
 * Checks one probe result: `words` holds, per invocation lid, the lid of its subgroup's first invocation and the
 * subgroup's size. Returns what is wrong, or null when subgroups are runs of n consecutive invocations, n a power of
 * two, the same for all.
 */
export function subgroupLayoutProblem(words: ArrayLike<number>, invocations: number): string | null {
  const n = words[1] ?? 0;
  if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) return `subgroup size ${n} is not a power of two`;
  for (let lid = 0; lid < invocations; lid++) {
    const first = words[2 * lid];
    const size = words[2 * lid + 1];
    if (size !== n) return `subgroups of different sizes in one workgroup (${n} and ${size})`;
    const expected = lid - (lid % n);
    if (first !== expected) return `invocation ${lid} is in a subgroup that starts at ${first}, not ${expected}`;
  }
  return null;
}

/**
 * Runs one workgroup of each probed size of shaders/subgroup_probe.wgsl on the device and checks its subgroup layout. Resolves to null when every
 * size passes, else to the first problem (a failure to compile or run counts as one); never rejects.
 */
export async function probeSubgroupLayout(device: GPUDevice): Promise<string | null> {
  if (!device.features.has('subgroups')) return 'the device has no subgroups feature';
  const buffers: GPUBuffer[] = [];
  try {
    device.pushErrorScope('validation');
    const results: { wg: number; read: GPUBuffer }[] = [];
    const encoder = device.createCommandEncoder({ label: 'subgroup probe' });
    const module = device.createShaderModule({ label: 'subgroup_probe', code: probeSource });
    for (const wg of PROBED_WORKGROUPS) {
      const bytes = 8 * wg;
      const out = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      buffers.push(out, read);
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants: { WG: wg } },
      });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: out } }],
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(1);
      pass.end();
      encoder.copyBufferToBuffer(out, 0, read, 0, bytes);
      results.push({ wg, read });
    }
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) return `the probe did not run: ${error.message}`;
    for (const { wg, read } of results) {
      await read.mapAsync(GPUMapMode.READ);
      const problem = subgroupLayoutProblem(new Uint32Array(read.getMappedRange()), wg);
      read.unmap();
      if (problem) return `workgroup of ${wg}: ${problem}`;
    }
    return null;
  } catch (e) {
    return `the probe failed: ${(e as Error).message}`;
  } finally {
    for (const b of buffers) b.destroy();
  }
}
