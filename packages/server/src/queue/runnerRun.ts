import type { RunEvent, RunResult } from "@mecha/protocol";
import type { RunningProgram } from "../runtime/types";
import type { Keys } from "./keys";
import type { ScriptedRedis } from "./scripts";

/** What a run on a runner needs from it. */
export interface RunnerRunContext {
  command: ScriptedRedis;
  keys: Keys;
  runnerId: string;
  maxEvents: number;
  retainMs: number;
  /** How long to keep trying to report a run's end while Redis cannot be reached. */
  reportForMs: number;
}

/** Output chunks merged into one event up to this size. */
const MAX_MERGED = 256 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref?.());

/**
 * One run a runner executes: its events numbered (seq 0, `started`, was written by the claim)
 * and added to the run's stream with at most one write in flight (what the program writes
 * meanwhile is merged into the next), its input taken from Redis in order, and its end reported
 * once. When Redis says the run is no longer this runner's (it was declared lost, or Redis lost
 * it), the program is stopped: nobody can see it any more.
 */
export class RunnerRun {
  program: RunningProgram | null = null;
  /** The run was cancelled (by a request, or because it is no longer ours). */
  cancelled = false;
  /** Redis no longer counts this runner as the run's executor. */
  disowned = false;
  /** Redis made this runner the run's executor (its claim succeeded). */
  claimed = false;
  /** Its end is being reported: Redis stops naming its runner then. */
  private ending = false;
  private next = 1;
  private pending: RunEvent[] = [];
  private sending: Promise<void> | null = null;
  private lastSentAt = 0;
  private input: Promise<void> = Promise.resolve();
  /** Input was announced before the program started: take it once it has. */
  private inputWaiting = false;

  constructor(
    readonly id: string,
    private readonly context: RunnerRunContext,
  ) {}

  /** Starts writing `program`'s input and honours a cancel that came first. */
  attach(program: RunningProgram, input: readonly string[]): void {
    this.program = program;
    this.write(input);
    if (this.inputWaiting) this.takeInput();
    if (this.cancelled) program.cancel();
  }

  cancel(): void {
    this.cancelled = true;
    this.program?.cancel();
  }

  /**
   * Asks Redis whether the run is still this runner's, after a time it could not be told (a
   * reconnect): one declared lost meanwhile, or forgotten by a Redis restart, is stopped, even if
   * its program writes nothing more; a cancel sent meanwhile is honoured.
   */
  async check(): Promise<void> {
    if (!this.claimed || this.ending || this.disowned) return;
    const { command, keys, runnerId } = this.context;
    const reply = await command.redis
      .hmget(keys.run(this.id), "runner", "cancel")
      .catch(() => null);
    if (!reply || this.ending) return;
    const [runner, cancel] = reply;
    if (runner !== runnerId) this.disown();
    else if (cancel === "1") this.cancel();
  }

  private disown(): void {
    this.disowned = true;
    this.pending = [];
    this.cancel();
  }

  /** A program event, merged with the one before when both are output of the same stream. */
  push(event: RunEvent): void {
    if (this.disowned) return;
    const last = this.pending.at(-1);
    if (
      last &&
      (event.type === "stdout" || event.type === "stderr") &&
      last.type === event.type &&
      last.data.length < MAX_MERGED
    ) {
      last.data += event.data;
    } else {
      this.pending.push({ ...event });
    }
    this.schedule();
  }

  /** Takes the input sent for the run (told by its channel, or at a reconnect). */
  takeInput(): void {
    if (!this.program) {
      this.inputWaiting = true;
      return;
    }
    this.input = this.input.then(async () => {
      if (!this.program || this.disowned) return;
      const { keys, runnerId } = this.context;
      const items = (await this.context.command
        .run(
          "takeStdin",
          [keys.run(this.id), keys.stdin(this.id)],
          [runnerId, this.program.stdinBuffered],
        )
        .catch(() => [])) as string[];
      this.write(items);
    });
  }

  private write(items: readonly string[]): void {
    for (const item of items) {
      const { d, e } = JSON.parse(item) as { d: string; e: boolean };
      this.program?.writeStdin(d, e);
    }
  }

  /** Sends what is pending unless a write is in flight (then it goes when that one returns). */
  private schedule(): void {
    if (this.sending || this.pending.length === 0) return;
    // A chatty program's output is gathered for a few ms once it has many events, so that a
    // run's stream stays well within what Redis keeps (maxEvents).
    const gap = this.next < 500 ? 0 : 20;
    const wait = Math.max(0, this.lastSentAt + gap - performance.now());
    this.sending = (wait > 0 ? sleep(wait) : Promise.resolve()).then(() => this.send());
  }

  private async send(result?: RunResult): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const sequenced = batch.map((event) => ({ ...event, seq: this.next++ }));
    if (result) sequenced.push({ type: "exit", result, seq: this.next++ });
    const ok = await this.append(sequenced, result);
    this.lastSentAt = performance.now();
    this.sending = null;
    if (!ok) {
      this.disown();
      return;
    }
    if (!result) this.schedule();
  }

  /** Adds events (and the result) to the run in Redis, retrying while it cannot be reached. */
  private async append(events: (RunEvent & { seq: number })[], result?: RunResult) {
    const { command, keys, runnerId, maxEvents, retainMs, reportForMs } = this.context;
    const args: (string | number)[] = [
      runnerId,
      this.id,
      keys.runChannel(this.id),
      maxEvents,
      this.program?.stdinBuffered ?? 0,
      retainMs,
      result ? JSON.stringify(result) : "",
    ];
    for (const event of events) args.push(event.seq, JSON.stringify(event));
    const runKeys = [
      keys.run(this.id),
      keys.events(this.id),
      keys.stdin(this.id),
      keys.runnerRuns(runnerId),
    ];
    const giveUpAt = performance.now() + reportForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await command.run("append", runKeys, args)) === 1;
      } catch {
        // Redis is out of reach: the same events again (the script skips those it has) until
        // it is back, or until the run must have been declared lost by then anyway.
        if (performance.now() > giveUpAt) return false;
        await sleep(Math.min(1000, 100 * (attempt + 1)));
      }
    }
  }

  /** Reports the run's end with everything still pending; false when it was not ours anymore. */
  async finish(result: RunResult): Promise<boolean> {
    this.ending = true;
    while (this.sending) await this.sending;
    if (this.disowned) return false;
    await this.send(result);
    return !this.disowned;
  }
}
