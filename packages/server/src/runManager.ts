import type { RunEvent, RunResult } from "@mecha/protocol";
import { HttpError } from "./httpError";
import type { RunJob, RunningProgram, Runtime } from "./runtime/types";

export type RunState = "queued" | "running" | "finished";

/** One accepted run: its events fan out to whoever listens; its result settles once. */
export class Run {
  state: RunState = "queued";
  program: RunningProgram | null = null;
  result: RunResult | null = null;
  readonly done: Promise<RunResult>;
  private resolve!: (result: RunResult) => void;
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private cancelled = false;
  private readonly pendingStdin: { data: string; eof: boolean }[] = [];
  private pendingBytes = 0;
  private stdinClosed: boolean;

  constructor(
    readonly job: RunJob,
    /** Standard input the run may hold that its program has not taken yet, in bytes. */
    private readonly maxStdinBuffer = Number.POSITIVE_INFINITY,
  ) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.stdinClosed = !job.interactive;
  }

  listen(listener: (event: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: RunEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private announced = false;

  /** Emits `started` once: when the run leaves the queue (or ends without ever running). */
  private announce(): void {
    if (this.announced) return;
    this.announced = true;
    this.emit({ type: "started", id: this.job.id });
  }

  get hasStarted(): boolean {
    return this.announced;
  }

  attach(program: RunningProgram): void {
    this.program = program;
    this.state = "running";
    this.announce();
    for (const { data, eof } of this.pendingStdin.splice(0)) program.writeStdin(data, eof);
    this.pendingBytes = 0;
    if (this.cancelled) program.cancel();
  }

  writeStdin(data: string, eof: boolean): void {
    if (this.state === "finished") {
      throw new HttpError("run_finished", `Run ${this.job.id} has already finished.`);
    }
    if (this.stdinClosed) {
      throw new HttpError(
        "run_finished",
        `The standard input of run ${this.job.id} is closed (it was sent with eof, or the run was started without streaming).`,
      );
    }
    const size = Buffer.byteLength(data);
    const held = this.program ? this.program.stdinBuffered : this.pendingBytes;
    if (held + size > this.maxStdinBuffer) {
      throw new HttpError(
        "stdin_too_large",
        `Run ${this.job.id} holds ${held} bytes of standard input its program has not read; ` +
          `${size} more would pass the ${this.maxStdinBuffer}-byte limit. Nothing was written: ` +
          "send it again once the program has read some, or in smaller parts.",
      );
    }
    if (eof) this.stdinClosed = true;
    if (this.program) this.program.writeStdin(data, eof);
    else {
      this.pendingStdin.push({ data, eof });
      this.pendingBytes += size;
    }
  }

  /** Returns false when the run had already finished. */
  cancel(): boolean {
    if (this.state === "finished") return false;
    this.cancelled = true;
    this.program?.cancel();
    return true;
  }

  get wasCancelled(): boolean {
    return this.cancelled;
  }

  finish(result: RunResult): void {
    this.announce();
    this.state = "finished";
    this.result = result;
    this.emit({ type: "exit", result });
    this.listeners.clear();
    this.resolve(result);
  }
}

/**
 * What a finished run is remembered as: its id and that it ended, not its program or output
 * (a busy server finishes thousands of runs a minute).
 */
class FinishedRun {
  constructor(private readonly id: string) {}

  writeStdin(): never {
    throw new HttpError("run_finished", `Run ${this.id} has already finished.`);
  }

  cancel(): false {
    return false;
  }
}

/** Admission, concurrency, the queue, and the registry of runs by id. */
export class RunManager {
  /** Queued and running runs. */
  private readonly runs = new Map<string, Run>();
  /** Ids of finished runs and when they finished, oldest first. */
  private readonly finished = new Map<string, number>();
  private readonly queue: Run[] = [];
  private running = 0;
  private closing = false;

  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly maxStdinBuffer: number;

  constructor(
    private readonly runtime: Runtime,
    limits: { maxConcurrent: number; maxQueued: number; maxStdinBuffer?: number },
    /** How long finished runs are remembered, so late stdin gets 409 rather than 404. */
    private readonly retainMs = 5 * 60_000,
    private readonly maxRetained = 100_000,
  ) {
    this.maxConcurrent = limits.maxConcurrent;
    this.maxQueued = limits.maxQueued;
    this.maxStdinBuffer = limits.maxStdinBuffer ?? Number.POSITIVE_INFINITY;
  }

  get capacity() {
    return {
      running: this.running,
      queued: this.queue.length,
      maxConcurrent: this.maxConcurrent,
      maxQueued: this.maxQueued,
    };
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Admits a run or throws 503 `busy`. The run starts now or when a slot frees. */
  submit(job: RunJob): Run {
    if (this.closing) {
      throw new HttpError("unavailable", "The server is shutting down.", { retryAfter: 5 });
    }
    if (this.running >= this.maxConcurrent && this.queue.length >= this.maxQueued) {
      throw new HttpError(
        "busy",
        `All ${this.maxConcurrent} run slots are busy and ${this.maxQueued} runs are waiting; try again shortly.`,
        { retryAfter: 1 },
      );
    }
    this.prune();
    const run = new Run(job, this.maxStdinBuffer);
    this.runs.set(job.id, run);
    this.queue.push(run);
    this.pump();
    return run;
  }

  get(id: string): Pick<Run, "writeStdin" | "cancel"> {
    const run = this.runs.get(id);
    if (run) return run;
    if (this.finished.has(id)) return new FinishedRun(id);
    throw new HttpError("not_found", `No run with id ${JSON.stringify(id)}.`);
  }

  /** Stops taking runs, cancels queued and running ones, and waits for them to end. */
  async close(): Promise<void> {
    this.closing = true;
    for (const run of this.runs.values()) run.cancel();
    this.pump();
    await Promise.all([...this.runs.values()].map((run) => run.done));
    await this.runtime.close();
  }

  private pump(): void {
    while (this.queue.length > 0 && (this.running < this.maxConcurrent || this.closing)) {
      const run = this.queue.shift()!;
      if (run.wasCancelled) {
        this.retire(run, cancelledBeforeStart(run.job));
        continue;
      }
      this.running++;
      const program = this.runtime.start(run.job, {
        stdout: (data) => run.emit({ type: "stdout", data }),
        stderr: (data) => run.emit({ type: "stderr", data }),
        input: (prompt) => run.emit({ type: "input", prompt }),
      });
      run.attach(program);
      void program.done.then((outcome) => {
        this.running--;
        this.retire(run, {
          id: run.job.id,
          language: "python",
          ...outcome,
          limits: { ...run.job.limits },
        });
        this.pump();
      });
    }
  }

  private retire(run: Run, result: RunResult): void {
    this.runs.delete(run.job.id);
    this.finished.set(run.job.id, Date.now());
    run.finish(result);
  }

  /** Forgets finished runs older than `retainMs`, or beyond the newest `maxRetained`. */
  private prune(): void {
    const cutoff = Date.now() - this.retainMs;
    for (const [id, finishedAt] of this.finished) {
      if (finishedAt >= cutoff && this.finished.size <= this.maxRetained) break;
      this.finished.delete(id);
    }
  }
}

function cancelledBeforeStart(job: RunJob): RunResult {
  return {
    id: job.id,
    language: "python",
    status: "cancelled",
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 0,
    cpuTimeMs: null,
    memoryKb: null,
    limits: { ...job.limits },
  };
}
