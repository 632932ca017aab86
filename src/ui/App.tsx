/**
 * Placeholder page until the playground lands: it says what Stoptime is and whether this browser has WebGPU.
 */
import { useEffect, useState } from 'react';

type Support = { state: 'checking' } | { state: 'ok'; adapter: string } | { state: 'missing'; reason: string };

export function App() {
  const [support, setSupport] = useState<Support>({ state: 'checking' });
  useEffect(() => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) {
      setSupport({ state: 'missing', reason: 'navigator.gpu is undefined: use a recent Chrome or Edge.' });
      return;
    }
    gpu.requestAdapter().then(
      (a) =>
        setSupport(
          a
            ? {
                state: 'ok',
                adapter: [a.info.vendor, a.info.architecture].filter(Boolean).join(' ') || 'unnamed adapter',
              }
            : { state: 'missing', reason: 'no WebGPU adapter was found.' },
        ),
      (e: unknown) => setSupport({ state: 'missing', reason: String(e) }),
    );
  }, []);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '3rem auto', lineHeight: 1.5 }}>
      <h1>Stoptime</h1>
      <p>Train a tiny transformer on your own GPU and study when a model should stop thinking.</p>
      <p data-testid="webgpu-status">
        {support.state === 'checking' && 'Checking for WebGPU…'}
        {support.state === 'ok' && `WebGPU adapter: ${support.adapter}`}
        {support.state === 'missing' && `WebGPU unavailable: ${support.reason}`}
      </p>
      <p>The playground (training, decoding interventions and charts) is under construction.</p>
    </main>
  );
}
