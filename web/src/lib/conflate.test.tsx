import { act, render, screen } from "@testing-library/react";
import { useSyncExternalStore } from "react";
import { ConflatingStore } from "./conflate";

/** A schedule the test runs by hand: one call is one frame. */
function manualFrames(): { schedule: (flush: () => void) => void; frame: () => void; waiting: () => number } {
  let queued: (() => void)[] = [];
  return {
    schedule: (flush) => queued.push(flush),
    frame: () => {
      const run = queued;
      queued = [];
      run.forEach((flush) => flush());
    },
    waiting: () => queued.length,
  };
}

describe("ConflatingStore", () => {
  it("applies every update but tells readers once per frame", () => {
    const frames = manualFrames();
    const store = new ConflatingStore(0, frames.schedule);
    let told = 0;
    store.subscribe(() => (told += 1));
    for (let index = 0; index < 1000; index += 1) store.update((count) => count + 1);
    expect(store.get()).toBe(1000);
    expect(frames.waiting()).toBe(1);
    expect(told).toBe(0);
    frames.frame();
    expect(told).toBe(1);
    store.update((count) => count + 1);
    frames.frame();
    expect(told).toBe(2);
  });

  it("schedules nothing while nobody listens, and stops telling after unsubscribe", () => {
    const frames = manualFrames();
    const store = new ConflatingStore("a", frames.schedule);
    store.update(() => "b");
    expect(frames.waiting()).toBe(0);
    let told = 0;
    const stop = store.subscribe(() => (told += 1));
    store.update(() => "c");
    stop();
    frames.frame();
    expect(told).toBe(0);
    expect(store.get()).toBe("c");
  });

  it("renders a component once per frame under a burst of updates", () => {
    const frames = manualFrames();
    const store = new ConflatingStore(0, frames.schedule);
    let renders = 0;
    function Counter() {
      const value = useSyncExternalStore(store.subscribe, store.get);
      renders += 1;
      return <output>{value}</output>;
    }
    render(<Counter />);
    const before = renders;
    act(() => {
      for (let index = 0; index < 1000; index += 1) store.update((count) => count + 1);
    });
    expect(renders).toBe(before);
    act(() => frames.frame());
    expect(screen.getByRole("status")).toHaveTextContent("1000");
    expect(renders).toBe(before + 1);
  });
});
