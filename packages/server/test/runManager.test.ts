import { afterEach, describe, expect, it, vi } from "vitest";
import { HttpError } from "../src/httpError";
import { RunManager } from "../src/runManager";
import type { RunJob, RunOutcome, Runtime } from "../src/runtime/types";

const OUTCOME: RunOutcome = {
  status: "succeeded",
  exitCode: 0,
  signal: null,
  stdout: "x".repeat(1 << 20),
  stderr: "",
  truncated: false,
  durationMs: 1,
  cpuTimeMs: null,
  memoryKb: null,
};

/** Programs that end when `end()` is called, with a 1 MiB output. */
function fakeRuntime() {
  const ends: (() => void)[] = [];
  const runtime: Runtime = {
    info: async () => ({ language: "python", version: "3", isolation: "process" }),
    start() {
      let end!: (outcome: RunOutcome) => void;
      const done = new Promise<RunOutcome>((resolve) => {
        end = resolve;
      });
      ends.push(() => end(OUTCOME));
      return {
        writeStdin() {},
        stdinBuffered: 0,
        cancel: () => end({ ...OUTCOME, status: "cancelled" }),
        done,
      };
    },
    close: async () => {},
  };
  const endAll = () => {
    for (const end of ends.splice(0)) end();
  };
  return { runtime, endAll };
}

function job(id: string): RunJob {
  return {
    id,
    code: "print(1)",
    files: [],
    args: [],
    stdin: "",
    interactive: true,
    limits: { timeoutMs: 1000, memoryMb: 64, outputBytes: 2 << 20 },
  };
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof HttpError ? error.code : String(error);
  }
  return undefined;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("RunManager", () => {
  it("answers stdin for a finished run with run_finished until it is forgotten", async () => {
    vi.useFakeTimers();
    const { runtime, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 4, maxQueued: 4 }, 60_000);
    const run = manager.submit(job("a"));
    expect(codeOf(() => manager.get("a").writeStdin("hi", false))).toBeUndefined();
    endAll();
    await run.done;
    expect(codeOf(() => manager.get("a").writeStdin("hi", false))).toBe("run_finished");
    expect(manager.get("a").cancel()).toBe(false);
    vi.advanceTimersByTime(61_000);
    manager.submit(job("b"));
    expect(codeOf(() => manager.get("a"))).toBe("not_found");
    expect(codeOf(() => manager.get("b").writeStdin("hi", false))).toBeUndefined();
  });

  it("keeps no more than maxRetained finished runs, forgetting the oldest first", async () => {
    const { runtime, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 4, maxQueued: 4 }, 60_000, 3);
    for (const id of ["a", "b", "c", "d"]) {
      const run = manager.submit(job(id));
      endAll();
      await run.done;
    }
    manager.submit(job("e"));
    expect(codeOf(() => manager.get("a"))).toBe("not_found");
    for (const id of ["b", "c", "d"]) {
      expect(codeOf(() => manager.get(id).writeStdin("", true))).toBe("run_finished");
    }
  });

  it("holds no finished run's program or output", async () => {
    const { runtime, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 20, maxQueued: 0 }, 60_000);
    const runs = [];
    for (let i = 0; i < 20; i++) runs.push(manager.submit(job(`r${i}`)));
    endAll();
    await Promise.all(runs.map((run) => run.done));
    // What the manager still references: nothing of the 20 MiB of output.
    const seen = new WeakSet<object>();
    let largest = 0;
    const walk = (value: unknown, depth: number) => {
      if (depth > 6 || value === null || typeof value !== "object" || seen.has(value)) {
        if (typeof value === "string") largest = Math.max(largest, value.length);
        return;
      }
      seen.add(value);
      const entries = value instanceof Map ? [...value.entries()].flat() : Object.values(value);
      for (const entry of entries) walk(entry, depth + 1);
    };
    walk(manager, 0);
    expect(largest).toBeLessThan(1000);
    expect(manager.capacity.running).toBe(0);
  });
});
