/**
 * One tab trains at a time (Web Locks). A tab holds the lock TRAINING_LOCK for as long as a session trains, and beside
 * it the lock of the run it trains (`stoptime-run:<id>`), whose name another tab reads with `locks.query()`: a run
 * stored as training whose lock is held is training in another tab, not interrupted. Where the browser has no Web
 * Locks (or in Node) every request is granted and no run counts as training elsewhere.
 */

export const TRAINING_LOCK = 'stoptime-training';
const RUN_LOCK_PREFIX = 'stoptime-run:';

export interface TabLocks {
  /** Holds the training lock (and `runId`'s) until the returned release is called; null when another tab trains. */
  holdTraining(runId: string): Promise<(() => void) | null>;
  /** The runs whose lock a tab holds now (this one's included): they are training. */
  runsTraining(): Promise<ReadonlySet<string>>;
}

/** The part of the Web Locks API used here (navigator.locks). */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
  query(): Promise<{ held?: readonly { name?: string }[] }>;
}

export const NO_LOCKS: TabLocks = {
  holdTraining: async () => () => {},
  runsTraining: async () => new Set(),
};

export function webLocks(locks: LockManagerLike | undefined): TabLocks {
  if (!locks) return NO_LOCKS;
  return {
    holdTraining(runId) {
      return new Promise((resolve, reject) => {
        locks
          .request(TRAINING_LOCK, { ifAvailable: true }, async (lock) => {
            if (lock === null) {
              resolve(null);
              return;
            }
            let release: () => void = () => {};
            const held = new Promise<void>((r) => {
              release = r;
            });
            // Granted at once: no other tab can hold a run's lock without the training lock.
            await new Promise<void>((granted) => {
              void locks.request(`${RUN_LOCK_PREFIX}${runId}`, {}, () => {
                granted();
                return held;
              });
            });
            resolve(release);
            await held;
          })
          .catch(reject);
      });
    },
    async runsTraining() {
      const { held = [] } = await locks.query();
      return new Set(
        held.flatMap((l) => (l.name?.startsWith(RUN_LOCK_PREFIX) ? [l.name.slice(RUN_LOCK_PREFIX.length)] : [])),
      );
    },
  };
}

/** The page's locks: the browser's Web Locks where there are any. */
export function browserLocks(): TabLocks {
  const nav = typeof navigator === 'undefined' ? undefined : (navigator as { locks?: LockManagerLike });
  return webLocks(nav?.locks);
}
