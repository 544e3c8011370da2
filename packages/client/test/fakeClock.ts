import type { Timers } from "../src/timers";

/** A manual clock: timers fire only when the test advances time. */
export interface FakeClock {
  readonly timers: Timers;
  now(): number;
  /** Delays of the pending timers from now, shortest first. */
  pending(): number[];
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
}

export function createFakeClock(start = Date.parse("2025-01-01T00:00:00Z")): FakeClock {
  let now = start;
  let sequence = 0;
  const queue = new Map<number, { at: number; callback: () => void }>();
  return {
    timers: {
      setTimeout(callback, ms) {
        const id = ++sequence;
        queue.set(id, { at: now + Math.max(0, ms), callback });
        return id;
      },
      clearTimeout(id) {
        queue.delete(id as number);
      },
    },
    now: () => now,
    pending: () => [...queue.values()].map((timer) => timer.at - now).sort((a, b) => a - b),
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let next: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of queue) {
          if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
        }
        if (!next) break;
        queue.delete(next[0]);
        now = next[1].at;
        next[1].callback();
      }
      now = target;
    },
  };
}
