import type { Timers } from "../src/timers";

/** A manual clock: timers fire only when the test advances time. */
export interface FakeClock {
  readonly timers: Timers;
  now(): number;
  /** Delays of the pending timers from now, shortest first. */
  pending(): number[];
  /** The pending timers, soonest first: the delay each was set with, and what is left of it. */
  scheduled(): Array<{ delay: number; remaining: number }>;
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
  /** Drops every timer and goes back to the start time. */
  reset(): void;
}

const START = Date.parse("2025-01-01T00:00:00Z");

export function createFakeClock(start = START): FakeClock {
  let now = start;
  let sequence = 0;
  const queue = new Map<number, { at: number; delay: number; callback: () => void }>();
  const scheduled = () =>
    [...queue.values()]
      .map((timer) => ({ delay: timer.delay, remaining: timer.at - now }))
      .sort((a, b) => a.remaining - b.remaining);
  return {
    timers: {
      setTimeout(callback, ms) {
        const id = ++sequence;
        const delay = Math.max(0, ms);
        queue.set(id, { at: now + delay, delay, callback });
        return id;
      },
      clearTimeout(id) {
        queue.delete(id as number);
      },
    },
    now: () => now,
    pending: () => scheduled().map((timer) => timer.remaining),
    scheduled,
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
    reset() {
      queue.clear();
      now = start;
    },
  };
}
