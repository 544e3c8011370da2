import type { RunResult } from "@mecha/protocol";
import { HttpError } from "../httpError";
import type { RunJob, RunningProgram, RunSink, Runtime } from "../runtime/types";
import { cancelledBeforeStart, resultOf } from "./results";
import { Run } from "./run";
import { runErrors } from "./runErrors";
import type { RunRegistry, SubmitOptions } from "./runRegistry";
import { sinkTo } from "./sinkTo";

export type { SubmitOptions };

export interface RunManagerLimits {
  maxConcurrent: number;
  maxQueued: number;
  /** Standard input a run may hold that its program has not read, in bytes. */
  maxStdinBuffer?: number;
  /** How long ended runs stay readable (result, events), at least. @default 5 min */
  retainMs?: number;
  /** Bytes ended runs may hold together; beyond it the oldest go first. @default 64 MiB */
  retainBytes?: number;
}

/** Hooks that observe runs (metrics, logs). */
export interface RunObserver {
  finished?(run: Run, result: RunResult): void;
}

/** Admission, concurrency, the queue, and the registry of runs by id (live, then ended). */
export class RunManager implements RunRegistry {
  /** Queued and running runs. */
  private readonly live = new Map<string, Run>();
  /** Ended runs, oldest first, while they are kept readable. */
  private readonly ended = new Map<string, Run>();
  private endedBytes = 0;
  /** Idempotency keys (by principal) and the run each answered, with what it asked for. */
  private readonly keys = new Map<string, { id: string; fingerprint?: string }>();
  private readonly queue: Run[] = [];
  /** How each queued run starts. */
  private readonly starters = new WeakMap<Run, (job: RunJob, sink: RunSink) => RunningProgram>();
  private running = 0;
  private closing = false;
  private readonly limits: Required<RunManagerLimits>;

  constructor(
    private readonly runtime: Runtime,
    limits: RunManagerLimits,
    private readonly observer: RunObserver = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = {
      maxStdinBuffer: Number.POSITIVE_INFINITY,
      retainMs: 5 * 60_000,
      retainBytes: 64 << 20,
      ...limits,
    };
  }

  get capacity() {
    return {
      running: this.running,
      queued: this.queue.length,
      maxConcurrent: this.limits.maxConcurrent,
      maxQueued: this.limits.maxQueued,
    };
  }

  get isClosing(): boolean {
    return this.closing;
  }

  private keyOf(options: SubmitOptions): string | null {
    return options.idempotencyKey ? `${options.principal ?? ""}\0${options.idempotencyKey}` : null;
  }

  /**
   * The run an `Idempotency-Key` already answered within the retention window, if any (422 when
   * the request differs from the one that used it).
   */
  repeated(options: SubmitOptions): Run | null {
    this.prune();
    const key = this.keyOf(options);
    const known = key ? this.keys.get(key) : undefined;
    if (!key || !known) return null;
    const run = this.live.get(known.id) ?? this.ended.get(known.id);
    if (!run) {
      this.keys.delete(key);
      return null;
    }
    if (known.fingerprint !== options.fingerprint) {
      throw runErrors.keyReused(options.idempotencyKey!);
    }
    return run;
  }

  /**
   * Admits a run or throws 503 `busy`; the run starts now or when a slot frees. With an
   * idempotency key already used within the retention window, answers that run instead (never
   * a second execution): `existing` says so.
   */
  submit(job: RunJob, options: SubmitOptions = {}): { run: Run; existing: boolean } {
    return this.submitTo(job, (queued, sink) => this.runtime.start(queued, sink), options);
  }

  /**
   * Admits a run that `start` starts (a session's: see SessionManager) when a slot frees, as
   * `submit` admits any run.
   */
  submitTo(
    job: RunJob,
    start: (job: RunJob, sink: RunSink) => RunningProgram,
    options: SubmitOptions = {},
  ): { run: Run; existing: boolean } {
    const repeated = this.repeated(options);
    if (repeated) return { run: repeated, existing: true };
    const key = this.keyOf(options);
    if (this.closing) {
      throw runErrors.shuttingDown();
    }
    if (this.running >= this.limits.maxConcurrent && this.queue.length >= this.limits.maxQueued) {
      throw new HttpError(
        "busy",
        `All ${this.limits.maxConcurrent} run slots are busy and ${this.limits.maxQueued} runs are waiting; try again shortly.`,
        { retryAfter: 1 },
      );
    }
    const run = new Run(job, { principal: options.principal }, this.limits.maxStdinBuffer);
    this.starters.set(run, start);
    this.live.set(job.id, run);
    if (key) this.keys.set(key, { id: job.id, fingerprint: options.fingerprint });
    this.queue.push(run);
    this.pump();
    return { run, existing: false };
  }

  /** A run by id, live or still kept, if it is `principal`'s; else 404 (never whose it is). */
  get(id: string, principal?: string): Run {
    this.prune();
    const run = this.live.get(id) ?? this.ended.get(id);
    if (!run || run.owner.principal !== principal) {
      throw runErrors.notFound(id);
    }
    return run;
  }

  /** Stops taking runs, cancels queued and running ones, and waits for them to end. */
  async close(): Promise<void> {
    this.closing = true;
    for (const run of this.live.values()) run.cancel();
    this.pump();
    await Promise.all([...this.live.values()].map((run) => run.done));
    await this.runtime.close();
  }

  private pump(): void {
    while (this.queue.length > 0 && (this.running < this.limits.maxConcurrent || this.closing)) {
      const run = this.queue.shift()!;
      if (run.wasCancelled) {
        this.retire(run, cancelledBeforeStart(run.job));
        continue;
      }
      this.running++;
      const start = this.starters.get(run)!;
      this.starters.delete(run);
      const program = start(
        run.job,
        sinkTo((event) => run.emit(event)),
      );
      run.attach(program);
      void program.done.then((outcome) => {
        this.running--;
        this.retire(run, resultOf(run.job, outcome));
        this.pump();
      });
    }
  }

  private retire(run: Run, result: RunResult): void {
    this.live.delete(run.id);
    run.finish(result);
    this.ended.set(run.id, run);
    this.endedBytes += run.bytes;
    this.observer.finished?.(run, result);
    this.prune();
  }

  /** Forgets ended runs kept past `retainMs`, or the oldest beyond `retainBytes`. */
  private prune(): void {
    const cutoff = this.now() - this.limits.retainMs;
    for (const [id, run] of this.ended) {
      if (run.finishedAt >= cutoff && this.endedBytes <= this.limits.retainBytes) break;
      this.ended.delete(id);
      this.endedBytes -= run.bytes;
    }
    if (this.keys.size > this.live.size + this.ended.size) {
      for (const [key, { id }] of this.keys) {
        if (!this.live.has(id) && !this.ended.has(id)) this.keys.delete(key);
      }
    }
  }
}
