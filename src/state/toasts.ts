/** The one toast of the page: a message (with Undo for a deletion) that disappears after `toastMs`. */

import type { StateHandle } from './playground_state';
import type { DeletedRun } from './runs_db';

/** Undo toasts disappear after this long. */
export const TOAST_MS = 8000;

export class Toasts {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private counter = 0;

  constructor(
    private readonly state: StateHandle,
    private readonly toastMs = TOAST_MS,
  ) {}

  /** Shows `text` in place of any toast shown, with Undo for `undo`. */
  show(text: string, undo: DeletedRun | null = null): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.counter += 1;
    const id = this.counter;
    this.state.setState({ toast: { id, message: text, undo } });
    this.timer = setTimeout(() => {
      if (this.state.getState().toast?.id === id) this.state.setState({ toast: null });
    }, this.toastMs);
  }
}
