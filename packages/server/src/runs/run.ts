import type { RunEvent, RunResult } from "@mecha/protocol";
import type { RunJob, RunningProgram } from "../runtime/types";
import { EventLog, type SequencedEvent } from "./eventLog";
import { runErrors } from "./runErrors";
import type { RunHandle, RunView } from "./runRegistry";

export type RunState = "queued" | "running" | "finished";

export interface RunOwner {
  /** Who the run belongs to, as the host's `authorize` said; undefined: the id is the capability. */
  principal: string | undefined;
}

/**
 * One accepted run: its events are numbered and kept (see EventLog), fan out to whoever listens,
 * and end with its result, which settles once.
 */
export class Run implements RunHandle {
  state: RunState = "queued";
  program: RunningProgram | null = null;
  result: RunResult | null = null;
  finishedAt = 0;
  readonly done: Promise<RunResult>;
  private resolve!: (result: RunResult) => void;
  private readonly listeners = new Set<(event: SequencedEvent) => void>();
  private cancelled = false;
  private readonly pendingStdin: { data: string; eof: boolean }[] = [];
  private pendingBytes = 0;
  private stdinClosed: boolean;
  private announced = false;
  private readonly log: EventLog;
  /** Streams following the run now, and when its owner last came for it. */
  private followers = 0;
  private touchedAt = 0;

  constructor(
    readonly job: RunJob,
    readonly owner: RunOwner,
    /** Standard input the run may hold that its program has not taken yet, in bytes. */
    private readonly maxStdinBuffer = Number.POSITIVE_INFINITY,
    /** Cancelled before it started: it leaves the queue (and ends) at once. */
    private readonly withdraw: () => void = () => {},
  ) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.stdinClosed = !job.interactive;
    // Everything a run can emit is bounded by its output limit; events and their framing on top.
    this.log = new EventLog(2 * job.limits.outputBytes + (1 << 20));
  }

  get id(): string {
    return this.job.id;
  }

  view(): RunView {
    return this.result
      ? { state: "finished", result: this.result }
      : { state: this.state as "queued" | "running" };
  }

  /** Bytes this run holds for readers (its events). */
  get bytes(): number {
    return this.log.bytes;
  }

  checkAfter(after: number): "more" | "none" {
    return this.log.readerAt(after, this.id, this.state === "finished");
  }

  /** Its events after `after` now, then each one as it happens; returns how to stop. */
  follow(after: number, listener: (event: SequencedEvent) => void): () => void {
    this.touch();
    for (const event of this.log.since(after, this.id)) listener(event);
    if (this.state === "finished") return () => {};
    this.listeners.add(listener);
    this.followers++;
    let following = true;
    return () => {
      if (!following) return;
      following = false;
      this.followers--;
      this.listeners.delete(listener);
    };
  }

  /** Its owner asked about it (a stream, a poll, stdin): it is not abandoned. */
  touch(): void {
    this.touchedAt = performance.now();
  }

  /**
   * The request that was waiting for it went away: unless someone follows it again (resumes its
   * stream, polls it) within `windowMs`, it is cancelled, so a closed tab does not leave a
   * program running, and a dropped connection can still be resumed.
   */
  abandoned(windowMs: number): void {
    if (this.state === "finished") return;
    const at = performance.now();
    const timer = setTimeout(() => {
      if (this.followers === 0 && this.touchedAt <= at) this.cancel();
    }, windowMs);
    timer.unref?.();
    void this.done.then(() => clearTimeout(timer));
  }

  emit(event: RunEvent): void {
    const sequenced = this.log.append(event);
    for (const listener of this.listeners) listener(sequenced);
  }

  /** Emits `started` once: when the run leaves the queue (or ends without ever running). */
  private announce(): void {
    if (this.announced) return;
    this.announced = true;
    this.emit({ type: "started", id: this.id, limits: this.job.limits });
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
    this.touch();
    if (this.state === "finished") {
      throw runErrors.finished(this.id);
    }
    if (this.stdinClosed) {
      throw runErrors.stdinClosed(this.id);
    }
    const size = Buffer.byteLength(data);
    const held = this.program ? this.program.stdinBuffered : this.pendingBytes;
    if (held + size > this.maxStdinBuffer) {
      throw runErrors.stdinTooLarge(this.id, held, size, this.maxStdinBuffer);
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
    if (this.program) this.program.cancel();
    else this.withdraw();
    return true;
  }

  get wasCancelled(): boolean {
    return this.cancelled;
  }

  finish(result: RunResult): void {
    this.announce();
    this.state = "finished";
    this.result = result;
    this.finishedAt = Date.now();
    this.emit({ type: "exit", result });
    this.listeners.clear();
    this.program = null;
    this.resolve(result);
  }
}
