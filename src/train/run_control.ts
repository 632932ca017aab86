/**
 * What the SFT and GRPO sessions share about running a training loop: start / pause / resume / stop requests that
 * the loop checks between steps, and a FIFO mutex that keeps evaluations and weight reads between steps.
 */

/** A FIFO mutex: `run` calls execute one at a time, in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * Start, pause, resume and stop of one training loop at a time. The loop reads `stopping` and `pausing` between
 * steps and awaits `waitWhilePaused()` (no busy wait); pause and stop are no-ops when nothing runs.
 */
export class RunControl<R> {
  private pauseRequested = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private current: Promise<R> | null = null;

  /** Runs `loop` (requests cleared first); rejects when a loop is already running. */
  start(loop: () => Promise<R>): Promise<R> {
    if (this.current) return Promise.reject(new Error('the session is already training'));
    this.stopRequested = false;
    this.pauseRequested = false;
    const p = loop().finally(() => {
      this.current = null;
    });
    this.current = p;
    return p;
  }

  /** The running loop's promise, or null. */
  get inFlight(): Promise<R> | null {
    return this.current;
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  get pausing(): boolean {
    return this.pauseRequested;
  }

  pause(): void {
    if (this.current) this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.wakeUp();
  }

  stop(): void {
    if (this.current) this.stopRequested = true;
    this.wakeUp();
  }

  /** Waits until resumed or stopped; true when stopped. */
  async waitWhilePaused(): Promise<boolean> {
    while (this.pauseRequested && !this.stopRequested) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    return this.stopRequested;
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
