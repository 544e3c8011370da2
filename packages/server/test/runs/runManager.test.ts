import { afterEach, describe, expect, it, vi } from "vitest";
import { HttpError } from "../../src/httpError";
import type { SequencedEvent } from "../../src/runs/eventLog";
import { RunManager } from "../../src/runs/runManager";
import type { RunJob, RunOutcome, RunSink, Runtime } from "../../src/runtime/types";

const OUTCOME: RunOutcome = {
  status: "succeeded",
  exitCode: 0,
  signal: null,
  stdout: "",
  stderr: "",
  truncated: false,
  durationMs: 1,
  cpuTimeMs: null,
  memoryKb: null,
};

/** Programs that print what they are told and end when `end()` is called. */
function fakeRuntime() {
  const programs: { sink: RunSink; end: () => void }[] = [];
  let started = 0;
  const runtime: Runtime = {
    info: async () => ({ language: "python", version: "3", isolation: "process" }),
    start(_job, sink) {
      started++;
      let end!: (outcome: RunOutcome) => void;
      const done = new Promise<RunOutcome>((resolve) => {
        end = resolve;
      });
      programs.push({ sink, end: () => end(OUTCOME) });
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
    for (const program of programs.splice(0)) program.end();
  };
  return { runtime, programs, endAll, started: () => started };
}

function job(id: string, outputBytes = 1 << 20): RunJob {
  return {
    id,
    code: "print(1)",
    files: [],
    args: [],
    stdin: "",
    interactive: true,
    limits: { timeoutMs: 1000, memoryMb: 64, outputBytes },
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
  it("keeps an ended run readable for its retention time, then forgets it", async () => {
    vi.useFakeTimers();
    const { runtime, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 4, maxQueued: 4, retainMs: 60_000 });
    const { run } = manager.submit(job("a"));
    expect(codeOf(() => manager.get("a").writeStdin("hi", false))).toBeUndefined();
    endAll();
    await run.done;
    expect(codeOf(() => manager.get("a").writeStdin("hi", false))).toBe("run_finished");
    expect(manager.get("a").result?.status).toBe("succeeded");
    expect(manager.get("a").cancel()).toBe(false);
    vi.advanceTimersByTime(61_000);
    expect(codeOf(() => manager.get("a"))).toBe("not_found");
  });

  it("forgets the oldest ended runs first beyond its byte budget", async () => {
    const { runtime, programs, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, {
      maxConcurrent: 4,
      maxQueued: 4,
      retainBytes: 3 * 70_000,
    });
    for (const id of ["a", "b", "c", "d"]) {
      const { run } = manager.submit(job(id));
      programs[0]!.sink.stdout("x".repeat(60_000));
      endAll();
      await run.done;
    }
    expect(codeOf(() => manager.get("a"))).toBe("not_found");
    for (const id of ["b", "c", "d"]) expect(manager.get(id).state).toBe("finished");
  });

  it("numbers a run's events and replays them from any point while they are kept", async () => {
    const { runtime, programs, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 1, maxQueued: 1 });
    const { run } = manager.submit(job("a"));
    programs[0]!.sink.stdout("one");
    programs[0]!.sink.stderr("two");
    const live: SequencedEvent[] = [];
    run.follow(1, (event) => live.push(event));
    programs[0]!.sink.stdout("three");
    endAll();
    await run.done;
    expect(live.map((event) => [event.seq, event.type])).toEqual([
      [2, "stderr"],
      [3, "stdout"],
      [4, "exit"],
    ]);
    const replayed: SequencedEvent[] = [];
    run.follow(-1, (event) => replayed.push(event));
    expect(replayed.map((event) => event.type)).toEqual([
      "started",
      "stdout",
      "stderr",
      "stdout",
      "exit",
    ]);
  });

  it("says events_expired for events its log no longer holds", async () => {
    const { runtime, programs, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 1, maxQueued: 1 });
    // A log holds 2 × the output limit and 1 MiB: this run writes far more than that.
    const { run } = manager.submit(job("a", 1024));
    for (let i = 0; i < 2000; i++) programs[0]!.sink.stdout("y".repeat(1000));
    endAll();
    await run.done;
    expect(codeOf(() => run.follow(0, () => {}))).toBe("events_expired");
    const tail: SequencedEvent[] = [];
    run.follow(2000, (event) => tail.push(event));
    expect(tail.map((event) => event.type)).toEqual(["exit"]);
  });

  it("answers a repeated Idempotency-Key with the same run, never a second execution", async () => {
    const { runtime, endAll, started } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 4, maxQueued: 4 });
    const first = manager.submit(job("a"), { idempotencyKey: "k1", fingerprint: "body" });
    const again = manager.submit(job("b"), { idempotencyKey: "k1", fingerprint: "body" });
    expect(again).toEqual({ run: first.run, existing: true });
    endAll();
    await first.run.done;
    expect(manager.submit(job("c"), { idempotencyKey: "k1", fingerprint: "body" }).run).toBe(
      first.run,
    );
    expect(started()).toBe(1);
    expect(
      codeOf(() => manager.submit(job("d"), { idempotencyKey: "k1", fingerprint: "other" })),
    ).toBe("invalid_request");
    // A key is a principal's own: another's is a new run.
    const theirs = manager.submit(job("e"), {
      idempotencyKey: "k1",
      fingerprint: "body",
      principal: "bob",
    });
    expect(theirs.existing).toBe(false);
  });

  it("ends a queued run at once when it is cancelled, freeing its place in the queue", async () => {
    const { runtime, endAll, started } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 1, maxQueued: 1 });
    const running = manager.submit(job("a")).run;
    const queued = manager.submit(job("b")).run;
    expect(codeOf(() => manager.submit(job("c")))).toBe("busy");
    expect(queued.cancel()).toBe(true);
    await expect(queued.done).resolves.toMatchObject({ id: "b", status: "cancelled" });
    expect(manager.capacity).toMatchObject({ running: 1, queued: 0 });
    const next = manager.submit(job("d")).run;
    endAll();
    await running.done;
    // "d" started in the slot "a" left; "b" never did.
    expect(started()).toBe(2);
    endAll();
    await next.done;
    expect(queued.cancel()).toBe(false);
  });

  it("gives a run only to the principal it belongs to", () => {
    const { runtime } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 4, maxQueued: 4 });
    manager.submit(job("a"), { principal: "alice" });
    expect(manager.get("a", "alice").id).toBe("a");
    expect(codeOf(() => manager.get("a", "bob"))).toBe("not_found");
    expect(codeOf(() => manager.get("a"))).toBe("not_found");
  });

  it("holds no ended run's program", async () => {
    const { runtime, endAll } = fakeRuntime();
    const manager = new RunManager(runtime, { maxConcurrent: 20, maxQueued: 0 });
    const runs = [];
    for (let i = 0; i < 20; i++) runs.push(manager.submit(job(`r${i}`)).run);
    endAll();
    await Promise.all(runs.map((run) => run.done));
    expect(runs.every((run) => run.program === null)).toBe(true);
    expect(manager.capacity.running).toBe(0);
  });
});
