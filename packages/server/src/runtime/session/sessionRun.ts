import type { Display, RunError } from "@mecha/protocol";
import type { CgroupUsage, RunCgroup } from "../cgroup";
import { type Classified, classifyOutcome, type StopReason } from "../classifyOutcome";
import type { InputRelay } from "../inputRelay";
import type { KernelExit } from "../launcher";
import type { OutputCollector } from "../outputCollector";
import type { OrderedEnd, Stream } from "../outputOrder";
import { ReturnedFiles } from "../returnedFiles";
import { runOutput } from "../runOutput";
import type { RunJob, RunningProgram, RunOutcome, RunSink } from "../types";

/** How long a run asked to stop (cancel, time limit, output limit) has to end before its session is killed. */
export const INTERRUPT_GRACE_MS = 2000;

/** What a session's run needs of its session. */
export interface SessionChannel {
  /** Sends a message on the control channel (see python/mecha_session.py). */
  send(message: Record<string, unknown>): void;
  /** Bytes sent that the interpreter has not taken yet. */
  readonly buffered: number;
  readonly cgroup: RunCgroup | null;
  /** The session is being closed (DELETE, expiry, shutdown): its state goes with it. */
  readonly closed: boolean;
  /** Kills the session's interpreter: its state is lost. */
  kill(): void;
  /** The run has ended: the session takes no more of its output. */
  finished(run: SessionRun): void;
}

/**
 * A run whose interpreter ended before the run did (`os._exit()`, a thread of an earlier run,
 * its channels closed): whatever the interpreter's exit status, the run did not succeed.
 */
function interpreterEnded(classified: Classified): Classified {
  return classified.status === "succeeded" ? { ...classified, status: "failed" } : classified;
}

/** How a session's run ended: the interpreter's report, or the kernel's when it died. */
type Ending =
  | { kept: true; end: OrderedEnd }
  | { kept: false; exit: KernelExit | null; usage: CgroupUsage | null };

/**
 * One run in a session: its job sent on the session's control channel, its output (routed here
 * by the session while it runs) under its own limit, its time limit and cancel as an interrupt
 * (KeyboardInterrupt), then, if it does not stop within INTERRUPT_GRACE_MS, the session killed.
 */
export class SessionRun implements RunningProgram {
  readonly done: Promise<RunOutcome>;
  private resolve!: (outcome: RunOutcome) => void;
  private readonly collector: OutputCollector;
  private readonly input: InputRelay;
  private readonly files = new ReturnedFiles();
  private error: RunError | undefined;
  private stopReason: StopReason | null = null;
  private settled = false;
  private stdinClosed: boolean;
  private startedAt = performance.now();
  private cpuAtStart: number | null = null;
  private oomAtStart = 0;
  private timer: NodeJS.Timeout | undefined;
  private grace: NodeJS.Timeout | undefined;

  constructor(
    private readonly channel: SessionChannel,
    private readonly job: RunJob,
    sink: RunSink,
    readonly cell: number,
  ) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.stdinClosed = !job.interactive;
    ({ input: this.input, collector: this.collector } = runOutput(job.limits.outputBytes, sink));
  }

  /** Sends the job; its clock starts. */
  async begin(): Promise<void> {
    const { job } = this;
    this.oomAtStart = (await this.channel.cgroup?.usage().catch(() => null))?.oomKills ?? 0;
    this.cpuAtStart = this.channel.cgroup?.cpuTimeMs() ?? null;
    this.startedAt = performance.now();
    this.channel.send({
      op: "run",
      cell: this.cell,
      code: job.code,
      files: job.files,
      stdin: job.stdin,
      eof: !job.interactive,
      interactive: job.interactive,
      returnFiles: job.returnFiles ?? [],
      fileBytes: job.limits.outputBytes,
    });
    // The cell's standard input went with it, closed unless the cell is interactive.
    this.input.written(!job.interactive);
    this.timer = setTimeout(() => this.stop("timed_out"), job.limits.timeoutMs);
  }

  get stdinBuffered(): number {
    return this.channel.buffered;
  }

  writeStdin(data: string, eof: boolean): void {
    if (this.stdinClosed || this.settled) return;
    if (eof) this.stdinClosed = true;
    this.input.written(eof);
    this.channel.send({ op: "stdin", cell: this.cell, data, eof });
  }

  cancel(): void {
    this.stop("cancelled");
  }

  /** Output the session routed here; false once over the output limit. */
  text(stream: Stream, chunk: Buffer): boolean {
    const ok = this.collector.push(stream, chunk);
    if (!ok) this.stop("output_exceeded");
    return ok;
  }

  display(display: Display): boolean {
    const ok = this.collector.pushDisplay(display);
    if (!ok) this.stop("output_exceeded");
    return ok;
  }

  fits(bytes: number): boolean {
    return this.collector.fits(bytes);
  }

  prompt(prompt: string): void {
    this.input.event(prompt);
  }

  described(error: RunError): void {
    this.error = error;
  }

  file(file: { path: string; size: number; content: string | null }): void {
    if ((this.job.returnFiles ?? []).length > 0) this.files.add(file);
  }

  /** Asks the run to stop: an interrupt, then the session's end if it does not. */
  stop(reason: StopReason): void {
    if (this.settled || this.stopReason) return;
    this.stopReason = reason;
    this.channel.send({ op: "interrupt", cell: this.cell });
    this.grace = setTimeout(() => this.channel.kill(), INTERRUPT_GRACE_MS);
  }

  /** The interpreter reported the run's end, and every byte of its output before it has come. */
  ended(end: OrderedEnd): void {
    this.settle({ kept: true, end });
  }

  /** The session's interpreter died during the run. */
  lost(exit: KernelExit | null, usage: CgroupUsage | null): void {
    this.settle({ kept: false, exit, usage });
  }

  private settle(ending: Ending): void {
    if (this.settled) return;
    this.settled = true;
    // A run that ends as its session is closed leaves no session behind, whatever it reported.
    const kept = ending.kept && !this.channel.closed;
    const endedAt = performance.now();
    const cpuAtEnd = this.channel.cgroup?.cpuTimeMs() ?? null;
    clearTimeout(this.timer);
    clearTimeout(this.grace);
    this.input.drop();
    this.collector.finish();
    this.channel.finished(this);
    void this.outcome(ending, endedAt, cpuAtEnd, kept).then(this.resolve);
  }

  private async outcome(ending: Ending, endedAt: number, cpuAtEnd: number | null, kept: boolean) {
    const usage = ending.kept ? await this.channel.cgroup?.usage().catch(() => null) : ending.usage;
    const oomKilled = (usage?.oomKills ?? 0) > this.oomAtStart;
    const reason = this.stopReason;
    const classified = ending.kept
      ? {
          ...classifyOutcome({
            exit: { code: ending.end.status, signal: null },
            reason,
            oomKilled,
            error: this.error,
          }),
          // Interrupted, not killed: the session is still there.
          ...(reason ? { signal: ending.end.interrupted ? "SIGINT" : null } : {}),
        }
      : interpreterEnded(
          classifyOutcome({ exit: ending.exit, reason, oomKilled, error: this.error }),
        );
    let cpuTimeMs = usage?.cpuTimeMs ?? (ending.kept ? null : (ending.exit?.cpuTimeMs ?? null));
    if (this.cpuAtStart !== null && cpuAtEnd !== null) cpuTimeMs = cpuAtEnd - this.cpuAtStart;
    const returnFiles = this.job.returnFiles ?? [];
    return {
      ...classified,
      stdout: this.collector.stdout,
      stderr: this.collector.stderr,
      truncated: this.collector.truncated,
      durationMs: Math.round((endedAt - this.startedAt) * 100) / 100,
      cpuTimeMs: cpuTimeMs === null ? null : Math.round(cpuTimeMs * 100) / 100,
      memoryKb: usage?.memoryKb ?? (ending.kept ? null : (ending.exit?.memoryKb ?? null)),
      ...(this.collector.displays.length > 0 ? { displays: this.collector.displays } : {}),
      ...(returnFiles.length > 0
        ? { files: this.files.settle(this.job.limits.outputBytes - this.collector.used) }
        : {}),
      sessionState: kept ? "kept" : "lost",
    } satisfies RunOutcome;
  }
}
