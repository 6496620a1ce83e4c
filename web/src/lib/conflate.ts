/**
 * A store for values that change faster than a screen can show: writers
 * update as often as messages arrive, readers (React, through
 * useSyncExternalStore) are told at most once per frame. At 1,000 updates a
 * second the page re-renders about 60 times, each time with the latest state,
 * so nothing flickers and nothing is lost (every update is applied; only the
 * notifications are conflated).
 */

export type Schedule = (flush: () => void) => void;

/** The browser's next frame, or a short timer where there are no frames (tests, hidden tabs). */
export const nextFrame: Schedule = (flush) => {
  if (typeof requestAnimationFrame === "function" && typeof document !== "undefined" && !document.hidden) {
    requestAnimationFrame(() => flush());
  } else {
    setTimeout(flush, 16);
  }
};

export class ConflatingStore<T> {
  private value: T;
  private readonly listeners = new Set<() => void>();
  private pending = false;

  constructor(
    initial: T,
    private readonly schedule: Schedule = nextFrame,
  ) {
    this.value = initial;
  }

  /** The state readers last saw (React's snapshot). */
  readonly get = (): T => this.value;

  /** Change the state now; readers are told at the next flush. `change` must
   * return a new object when it changes anything (React compares by identity). */
  update(change: (current: T) => T): void {
    this.value = change(this.value);
    if (this.pending || this.listeners.size === 0) return;
    this.pending = true;
    this.schedule(() => {
      this.pending = false;
      for (const listener of [...this.listeners]) listener();
    });
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
