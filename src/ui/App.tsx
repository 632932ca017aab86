/**
 * Placeholder page until the playground lands: what Stoptime is, which WebGPU adapter the engine worker got, and an
 * engine self-test (a small model learning to reverse digit strings, trained in the worker).
 */
import { useEffect } from 'react';
import { useEngine } from '../state/engine';

const SELF_TEST_STEPS = 20;

export function App() {
  const { adapter, adapterError, selfTest, connect, runSelfTest } = useEngine();
  useEffect(() => {
    void connect();
  }, [connect]);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '3rem auto', lineHeight: 1.5 }}>
      <h1>Stoptime</h1>
      <p>Train a tiny transformer on your own GPU and study when a model should stop thinking.</p>
      <p data-testid="webgpu-status">
        {adapter && `WebGPU adapter: ${adapter}`}
        {adapterError && `WebGPU unavailable: ${adapterError}`}
        {!adapter && !adapterError && 'Checking for WebGPU…'}
      </p>
      <button
        type="button"
        disabled={!adapter || selfTest.kind === 'running'}
        onClick={() => void runSelfTest(SELF_TEST_STEPS)}
      >
        Run engine self-test ({SELF_TEST_STEPS} training steps)
      </button>
      <p data-testid="selftest">
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
      <p>The playground (training, decoding interventions and charts) is under construction.</p>
    </main>
  );
}
