import { randomBytes } from "node:crypto";
import type { RunError } from "@mecha/protocol";
import { classifyOutcome, type StopReason } from "./classifyOutcome";
import { EventReader, type ProgramEvent } from "./eventReader";
import type { InputRelay } from "./inputRelay";
import { type JobPlace, jobDocument } from "./jobDocument";
import { CancelledError, type KernelExit, type PreparedRun } from "./launcher";
import type { RuntimeSettings } from "./options";
import type { OutputCollector } from "./outputCollector";
import { OutputOrder } from "./outputOrder";
import { ReturnedFiles } from "./returnedFiles";
import { runOutput } from "./runOutput";
import { closed, within } from "./streamWaits";
import type { RunJob, RunningProgram, RunOutcome, RunSink } from "./types";

/** How long a run's output may still arrive once its processes are gone. */
const DRAIN_MS = 250;
/** How long a run's answer waits for what it left running to be gone once it has been killed. */
const GONE_MS = 2000;
const MiB = 1024 * 1024;

/** Where a run is. Each state holds what only it has. */
type RunState =
  | { kind: "starting"; stop: StopReason | null }
  | { kind: "running"; prepared: PreparedRun; startedAt: number; stop: StopReason | null }
  | { kind: "finished" };

/** An interpreter for a run, the run's share of per-user kernel counters, and what it can reach. */
export type Acquired = JobPlace;

/** What a run needs from its runtime. */
export interface ExecutionContext {
  settings: RuntimeSettings;
  /** An interpreter for the run: a warm one, or one started now. */
  acquire(cancelled: () => boolean): Promise<Acquired>;
  /** Called once the run has answered and what it held is released. */
  finished(): void;
}

/**
 * One run, from its job to its outcome: takes an interpreter, gives it the job and the run's
 * limits, routes its output, ends it at a limit or on cancel, and classifies how it ended.
 */
export class RunExecution implements RunningProgram {
  private state: RunState = { kind: "starting", stop: null };
  private readonly stdinQueue: { data: string; eof: boolean }[] = [];
  private stdinClosed = false;
  private queuedBytes = 0;
  private error: RunError | undefined;
  /** What the bootstrap's `accounting` event said (used only where the launcher says so). */
  private accounting: Extract<ProgramEvent, { type: "accounting" }> | null = null;
  private readonly collector: OutputCollector;
  private readonly order: OutputOrder;
  private readonly files = new ReturnedFiles();
  /** Marks where each display falls in stdout and stderr (see OutputOrder). */
  private readonly marker = randomBytes(8).toString("hex");
  private readonly events: EventReader;
  private readonly input: InputRelay;
  readonly done: Promise<RunOutcome>;
  /** Resolves once what the run held (uid, cgroup, directories) is released. */
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    private readonly job: RunJob,
    sink: RunSink,
    private readonly context: ExecutionContext,
    stopped: StopReason | null = null,
  ) {
    if (job.stdin) this.queue(job.stdin, false);
    if (!job.interactive) this.queue("", true);
    if (stopped) this.state = { kind: "starting", stop: stopped };
    ({ input: this.input, collector: this.collector } = runOutput(job.limits.outputBytes, sink));
    const cap = job.limits.outputBytes;
    this.order = new OutputOrder(this.marker, {
      text: (stream, chunk) => this.collector.push(stream, chunk),
      display: (display) => this.collector.pushDisplay(display),
      fits: (bytes) => this.collector.fits(bytes),
    });
    // Everything the program can write is bounded: the event channel by the output limit too
    // (displays within it, returned files base64-encoded, a little for everything else).
    this.events = new EventReader(3 * cap + MiB, (event) => this.onEvent(event));
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.done = this.run();
  }

  get stdinBuffered(): number {
    const pipe = this.state.kind === "running" ? this.state.prepared.stdin.writableLength : 0;
    return this.queuedBytes + pipe;
  }

  writeStdin(data: string, eof: boolean): void {
    if (this.stdinClosed) return;
    if (this.state.kind === "running" && this.stdinQueue.length === 0) {
      this.write(this.state.prepared, data, eof);
    } else {
      this.queue(data, eof);
    }
  }

  cancel(): void {
    this.stop("cancelled");
  }

  private queue(data: string, eof: boolean): void {
    this.stdinQueue.push({ data, eof });
    this.queuedBytes += Buffer.byteLength(data);
    if (eof) this.stdinClosed = true;
  }

  private write(prepared: PreparedRun, data: string, eof: boolean): void {
    this.input.written(eof);
    if (data) prepared.stdin.write(data);
    if (eof) {
      this.stdinClosed = true;
      prepared.stdin.end();
    }
  }

  private stop(reason: StopReason): void {
    const state = this.state;
    if (state.kind === "finished" || state.stop) return;
    state.stop = reason;
    if (state.kind === "running") state.prepared.kill();
    this.wake?.();
  }

  /** Wakes the run's wait when it is stopped. */
  private wake: (() => void) | null = null;

  private onEvent(event: ProgramEvent): void {
    switch (event.type) {
      case "input":
        this.input.event(event.prompt);
        break;
      case "display":
        if (!this.order.display(event)) this.stop("output_exceeded");
        break;
      case "file":
        if (this.returnFiles.length > 0) this.files.add(event);
        break;
      case "accounting":
        this.accounting ??= event;
        break;
      case "error": {
        const { name, message, line, traceback } = event;
        this.error = { type: name, message, line, traceback };
        break;
      }
      default:
      // A session's events mean nothing in a run.
    }
  }

  private async run(): Promise<RunOutcome> {
    let prepared: PreparedRun | null = null;
    let startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const starting = this.state;
      if (starting.kind !== "starting" || starting.stop) throw new CancelledError();
      const acquired = await this.context.acquire(
        () => this.state.kind !== "starting" || !!this.state.stop,
      );
      prepared = acquired.prepared;
      if (this.state.kind !== "starting" || this.state.stop) {
        prepared.kill();
        throw new CancelledError();
      }
      await prepared.cgroup?.setMemory(this.job.limits.memoryMb * 1024 * 1024).catch(() => {});
      const current = prepared;
      current.stdout.on("data", (chunk: Buffer) => {
        if (!this.order.push("stdout", chunk)) this.stop("output_exceeded");
      });
      current.stderr.on("data", (chunk: Buffer) => {
        if (!this.order.push("stderr", chunk)) this.stop("output_exceeded");
      });
      current.events.on("data", (chunk: Buffer) => {
        if (!this.events.push(chunk)) this.stop("output_exceeded");
      });
      const stopped = new Promise<null>((resolve) => {
        this.wake = () => resolve(null);
      });
      startedAt = performance.now();
      this.state = { kind: "running", prepared: current, startedAt, stop: null };
      timer = setTimeout(() => this.stop("timed_out"), this.job.limits.timeoutMs);
      // The run's own CPU time is what its cgroup counts from here to its end.
      const cpuAtStart = current.cgroup?.cpuTimeMs() ?? null;
      current.sendJob(
        jobDocument(
          {
            code: this.job.code,
            files: this.job.files,
            args: this.job.args,
            interactive: this.job.interactive,
            returnFiles: this.returnFiles,
            marker: this.marker,
          },
          this.job.limits,
          acquired,
          this.context.settings,
        ),
      );
      for (const { data, eof } of this.stdinQueue.splice(0)) this.write(current, data, eof);
      this.queuedBytes = 0;

      // The run is its first process and everything it started: it has ended once that process
      // has and every process has closed its output (what a caller of `python3 main.py` that
      // captures the output waits for), or when the server stops it. What is left is ended.
      const ended = Promise.all([
        current.exited,
        closed(current.stdout),
        closed(current.stderr),
      ]).then(([value]) => value);
      let exit: KernelExit | null = await Promise.race([ended, stopped]);
      const endedAt = performance.now();
      const cpuAtEnd = current.cgroup?.cpuTimeMs() ?? null;
      clearTimeout(timer);
      if (this.stopReason) {
        current.kill();
        exit = await within(1000, current.exited);
      }
      if (!exit?.alone) {
        // Nothing of the run outlives its answer.
        current.kill();
        await within(GONE_MS, current.gone);
        await current.cgroup?.killAll();
      }
      await within(
        DRAIN_MS,
        Promise.all([closed(current.stdout), closed(current.stderr), closed(current.events)]),
      );
      this.input.drop();
      this.order.finish();
      this.collector.finish();
      // Windows: the job object's counters, as the bootstrap read them (a run killed first has
      // none). The program shares that process, so this is a claim like its error is.
      const job = current.jobObject ? this.accounting : null;
      const usage = (await current.cgroup?.usage()) ?? {
        cpuTimeMs: (job ? job.cpuTimeMs : exit?.cpuTimeMs) ?? null,
        memoryKb: (job ? job.memoryKb : exit?.memoryKb) ?? null,
        oomKilled: false,
      };
      if (cpuAtStart !== null && cpuAtEnd !== null) usage.cpuTimeMs = cpuAtEnd - cpuAtStart;
      const classified = classifyOutcome({
        exit,
        reason: this.stopReason,
        oomKilled: usage.oomKilled,
        memoryRefused: job?.memoryLimited ?? false,
        error: this.error,
      });
      return {
        ...classified,
        stdout: this.collector.stdout,
        stderr: this.collector.stderr,
        truncated: this.collector.truncated,
        durationMs: Math.round((endedAt - startedAt) * 100) / 100,
        cpuTimeMs: usage.cpuTimeMs === null ? null : Math.round(usage.cpuTimeMs * 100) / 100,
        memoryKb: usage.memoryKb,
        ...(this.collector.displays.length > 0 ? { displays: this.collector.displays } : {}),
        ...(this.returnFiles.length > 0
          ? { files: this.files.settle(this.job.limits.outputBytes - this.collector.used) }
          : {}),
      };
    } catch (cause) {
      clearTimeout(timer);
      prepared?.kill();
      this.input.drop();
      const cancelled = cause instanceof CancelledError || this.stopReason !== null;
      if (!cancelled) {
        this.context.settings.logger.error(
          `Mecha: run ${this.job.id} could not start: ${String(cause)}`,
        );
      }
      return {
        status: this.stopReason ?? "failed",
        exitCode: null,
        signal: null,
        stdout: this.collector.stdout,
        stderr: cancelled
          ? this.collector.stderr
          : `${this.collector.stderr}Mecha could not start the program: ${String(cause)}\n`,
        truncated: this.collector.truncated,
        durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
        cpuTimeMs: null,
        memoryKb: null,
      };
    } finally {
      this.state = { kind: "finished" };
      this.wake = null;
      // Its uid and cgroup go to another run only once nothing of it is left.
      const released = prepared ? prepared.release().catch(() => {}) : Promise.resolve();
      void released.then(() => {
        this.settle();
        this.context.finished();
      });
    }
  }

  private get returnFiles(): string[] {
    return this.job.returnFiles ?? [];
  }

  private get stopReason(): StopReason | null {
    return this.state.kind === "finished" ? null : this.state.stop;
  }
}
