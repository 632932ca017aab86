/**
 * Engine check: which adapter the worker got, and the engine self-test (a small model learning to reverse digit
 * strings in the worker; WebGPU only). The end-to-end smoke test drives this panel.
 */
import { useStore } from '../state/store';

const SELF_TEST_STEPS = 20;

export function EnginePanel() {
  const engine = useStore((s) => s.engine);
  const engineError = useStore((s) => s.engineError);
  const selfTest = useStore((s) => s.selfTest);
  const runSelfTest = useStore((s) => s.runSelfTest);
  const training = useStore((s) => s.session?.state === 'running' || s.session?.state === 'paused');
  return (
    <section className="panel" aria-labelledby="engine-title">
      <h2 id="engine-title">Engine</h2>
      <p className="small" data-testid="webgpu-status">
        {engine?.backend === 'webgpu' && `WebGPU adapter: ${engine.adapter}`}
        {engine?.backend === 'cpu' && `WebGPU unavailable: ${engine.fallbackReason ?? 'no adapter'}`}
        {engine === null && engineError !== null && `Engine failed: ${engineError}`}
        {engine === null && engineError === null && 'Checking for WebGPU…'}
      </p>
      {engine?.limits && (
        <p className="small muted">
          Largest storage binding:{' '}
          <span data-testid="binding-limit" data-bytes={engine.limits.maxStorageBufferBindingSize}>
            {Math.round(engine.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB
          </span>{' '}
          (bounds the batch)
        </p>
      )}
      <button
        type="button"
        disabled={engine?.backend !== 'webgpu' || selfTest.kind === 'running' || training}
        onClick={() => void runSelfTest(SELF_TEST_STEPS)}
      >
        Run engine self-test ({SELF_TEST_STEPS} training steps)
      </button>
      <p className="small" data-testid="selftest">
        {selfTest.kind === 'running' && 'Training…'}
        {selfTest.kind === 'error' && `Self-test failed: ${selfTest.message}`}
        {selfTest.kind === 'done' &&
          `Loss ${selfTest.result.losses[0]!.toFixed(3)} → ${selfTest.result.losses.at(-1)!.toFixed(3)} in ${selfTest.result.losses.length} steps, ${selfTest.result.stepTimeMs.toFixed(0)} ms/step`}
      </p>
      {selfTest.kind === 'done' && (
        <output data-testid="selftest-losses" hidden>
          {JSON.stringify(selfTest.result.losses)}
        </output>
      )}
    </section>
  );
}
