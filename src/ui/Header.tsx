/**
 * Page header and the notices under it: the engine's backend badge (WebGPU adapter, or a yellow banner when the CPU
 * reference backend runs), URL-hash notices, the interrupted-run banner, the error box and the toast (with Undo).
 */
import { type InterruptedNotice, useStore } from '../state/store';

export function Header() {
  const engine = useStore((s) => s.engine);
  const engineError = useStore((s) => s.engineError);
  let badge: string;
  let badgeClass = 'badge';
  if (engine?.backend === 'webgpu') {
    badge = `WebGPU · ${engine.adapter}`;
    badgeClass += ' badge-gpu';
  } else if (engine?.backend === 'cpu') {
    badge = 'CPU reference backend';
    badgeClass += ' badge-cpu';
  } else if (engineError !== null) {
    badge = 'engine failed to start';
    badgeClass += ' badge-error';
  } else {
    badge = 'starting engine…';
  }
  return (
    <header className="app-header">
      <div className="brand">
        <h1>Stoptime</h1>
        <span className="tagline">train a tiny transformer on your GPU · study when a model should stop thinking</span>
      </div>
      <span className={badgeClass} data-testid="backend-badge" title={engine?.adapter ?? engineError ?? ''}>
        {badge}
      </span>
    </header>
  );
}

/** The interrupted banner's sentence: which stage stopped where, and what Resume continues from. */
function interruptedText(n: InterruptedNotice): string {
  const where =
    n.rlStartStep === null
      ? `Run “${n.name}” was interrupted at step ${n.step}`
      : `Run “${n.name}” was interrupted in its RL stage (begun after step ${n.rlStartStep}) at step ${n.step}`;
  switch (n.resumes) {
    case null:
      return `${where} and has no checkpoint to resume from.`;
    case 'sft':
      return `${where} (checkpoint at step ${n.checkpointStep}). Resume?`;
    case 'rl':
      return `${where} (checkpoint at step ${n.checkpointStep}). Resume the RL stage?`;
    case 'rl-restart':
      return `${where}, before the stage saved a checkpoint: Resume restarts the RL stage from the checkpoint at step ${n.checkpointStep}.`;
  }
}

export function Notices() {
  const engine = useStore((s) => s.engine);
  const engineError = useStore((s) => s.engineError);
  const notices = useStore((s) => s.notices);
  const adapterFit = useStore((s) => s.adapterFit);
  const interrupted = useStore((s) => s.interrupted);
  const error = useStore((s) => s.error);
  const toast = useStore((s) => s.toast);
  const training = useStore((s) => s.session?.state === 'running' || s.session?.state === 'paused');
  const { dismissNotices, resumeRun, dismissInterrupted, dismissError, undoDelete, dismissToast } = useStore.getState();
  const { useFullDefault, dismissAdapterFit } = useStore.getState();
  return (
    <div className="notices">
      {engine?.backend === 'cpu' && (
        <div className="banner banner-warn" role="status" data-testid="cpu-banner">
          WebGPU is not available here ({engine.fallbackReason ?? 'no adapter'}): running on the CPU reference backend,
          slowly but correctly.
        </div>
      )}
      {engineError !== null && (
        <div className="banner banner-error" role="alert">
          The compute engine could not start: {engineError}
        </div>
      )}
      {adapterFit && (
        <div className="banner banner-info" role="status" data-testid="adapter-fit">
          <span>{adapterFit.message}</span>
          <span className="button-row">
            <button type="button" className="link" data-testid="use-full-default" onClick={useFullDefault}>
              Use the full-size default
            </button>
            <button type="button" className="link" onClick={dismissAdapterFit}>
              Dismiss
            </button>
          </span>
        </div>
      )}
      {notices.length > 0 && (
        <div className="banner banner-info" role="status" data-testid="url-notices">
          <div>
            <strong>Some settings in the link were ignored:</strong>
            <ul>
              {notices.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          </div>
          <button type="button" className="link" onClick={dismissNotices}>
            Dismiss
          </button>
        </div>
      )}
      {interrupted && (
        <div className="banner banner-warn" role="status" data-testid="interrupted-banner">
          <span>{interruptedText(interrupted)}</span>
          <span className="button-row">
            {interrupted.checkpointStep !== null && (
              <button
                type="button"
                className="primary"
                disabled={engine === null || training}
                onClick={() => void resumeRun(interrupted.runId)}
                data-testid="resume-interrupted"
              >
                Resume
              </button>
            )}
            <button type="button" className="link" onClick={dismissInterrupted}>
              Dismiss
            </button>
          </span>
        </div>
      )}
      {error !== null && (
        <div className="banner banner-error" role="alert" data-testid="error-box">
          <span className="error-text">{error}</span>
          <button type="button" className="link" onClick={dismissError}>
            Dismiss
          </button>
        </div>
      )}
      {toast && (
        <div className="toast" role="status" data-testid="toast">
          <span>{toast.message}</span>
          {toast.undo && (
            <button type="button" className="link" onClick={() => void undoDelete()} data-testid="undo-delete">
              Undo
            </button>
          )}
          <button type="button" className="link" aria-label="Close" onClick={dismissToast}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
