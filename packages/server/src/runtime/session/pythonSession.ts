import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { EventReader, type ProgramEvent } from "../eventReader";
import { type JobPlace, jobDocument } from "../jobDocument";
import type { KernelExit } from "../launcher";
import type { RuntimeSettings } from "../options";
import { OutputOrder, type Stream } from "../outputOrder";
import { closed, within } from "../streamWaits";
import {
  type RunJob,
  type RunningProgram,
  type RunSink,
  type RuntimeSession,
  type SessionFile,
  SessionFileError,
  type SessionSpec,
} from "../types";
import { type SessionChannel, SessionRun } from "./sessionRun";

const MiB = 1024 * 1024;
/** How long a session's interpreter may take to set up (its files written, its limits set). */
const READY_MS = 30_000;
/** How long a file read waits for the interpreter (busy in code that holds it, say). */
const READ_MS = 10_000;
/** How long output may still arrive once the interpreter has ended. */
const DRAIN_MS = 250;
/** How long the session waits for what its interpreter left running to be gone, once killed. */
const GONE_MS = 2000;
/** Output between runs (a thread still printing) kept for the next run, at most. */
const BETWEEN_BYTES = 64 * 1024;
/** What the event channel may carry before the first run (the `ready` event, a failure). */
const SETUP_EVENT_BYTES = MiB;

/** A file read's answer, as the interpreter sends it. */
type ReadReply = Extract<ProgramEvent, { type: "read" }>;

/** What a session needs of its runtime. */
export interface SessionContext {
  settings: RuntimeSettings;
  /** Its interpreter (started and isolated as a run's), kernel shares and network. */
  place: JobPlace;
  /** Called once the interpreter has ended and what it held is released. */
  finished(): void;
}

/**
 * Opens a session on a prepared interpreter: its memory limit set, its job sent (files, limits,
 * `session: true`); resolves once the interpreter says it is ready, rejects (its stderr said) if
 * it ends first.
 */
export async function openPythonSession(
  spec: SessionSpec,
  context: SessionContext,
): Promise<PythonSession> {
  const { prepared } = context.place;
  await prepared.cgroup?.setMemory(spec.limits.memoryMb * MiB).catch(() => {});
  const session = new PythonSession(spec, context);
  await session.opened;
  return session;
}

/**
 * A session's interpreter as the server sees it: one process tree isolated as a run's, its
 * stdout, stderr and events read for as long as it lives and routed to the run in progress (see
 * SessionRun), its control channel written (runs, stdin, interrupts, file reads).
 */
export class PythonSession implements RuntimeSession {
  private readonly marker = randomBytes(8).toString("hex");
  private readonly order: OutputOrder;
  private readonly reader: EventReader;
  private readonly control: Writable;
  /** What a run sees of its session. */
  private readonly channel: SessionChannel;
  private current: SessionRun | null = null;
  private runs = 0;
  private readonly between: { stream: Stream; chunk: Buffer }[] = [];
  private betweenBytes = 0;
  private readonly reads = new Map<number, (reply: ReadReply | null) => void>();
  private lastRead = 0;
  private exit: KernelExit | null | undefined = undefined;
  private closing = false;
  private setupStderr = "";
  readonly opened: Promise<void>;
  readonly ended: Promise<void>;

  constructor(
    private readonly spec: SessionSpec,
    private readonly context: SessionContext,
  ) {
    const { prepared } = context.place;
    this.order = new OutputOrder(this.marker, {
      text: (stream, chunk) => this.current?.text(stream, chunk) ?? this.hold(stream, chunk),
      display: (display) => this.current?.display(display) ?? true,
      // Between runs, what is held back behind a marker is bounded as other output is then.
      fits: (bytes) => this.current?.fits(bytes) ?? bytes <= BETWEEN_BYTES,
      end: (end) => {
        if (this.current && end.cell === this.current.cell) this.current.ended(end);
      },
    });
    let ready!: () => void;
    let failed!: (error: Error) => void;
    this.opened = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.reader = new EventReader(SETUP_EVENT_BYTES, (event) => {
      if (event.type === "ready") ready();
      else this.onEvent(event);
    });
    prepared.stdout.on("data", (chunk: Buffer) => this.output("stdout", chunk));
    prepared.stderr.on("data", (chunk: Buffer) => this.output("stderr", chunk));
    prepared.events.on("data", (chunk: Buffer) => {
      if (!this.reader.push(chunk)) {
        // More than any run's output could explain: the interpreter is ended.
        this.current?.stop("output_exceeded");
        this.kill();
      }
    });
    this.control = prepared.openSession(
      jobDocument(
        {
          code: "",
          files: spec.files,
          args: [],
          interactive: false,
          returnFiles: [],
          marker: this.marker,
          session: true,
        },
        spec.limits,
        context.place,
        context.settings,
      ),
    );
    this.control.on("error", () => {});
    const control = this.control;
    const closing = () => this.closing;
    this.channel = {
      send: (message) => this.send(message),
      get buffered() {
        return control.writableLength;
      },
      cgroup: prepared.cgroup,
      get closed() {
        return closing();
      },
      kill: () => this.kill(),
      finished: (run) => {
        if (this.current !== run) return;
        this.current = null;
        this.bound();
      },
    };
    this.ended = prepared.exited.then((exit) => this.onExit(exit));
    const timer = setTimeout(() => {
      failed(new Error(`the session's interpreter was not ready within ${READY_MS / 1000} s`));
      this.kill();
    }, READY_MS);
    void this.ended.then(() =>
      failed(
        new Error(
          `the session's interpreter ended as it started${this.setupStderr ? `: ${this.setupStderr.trim()}` : ""}`,
        ),
      ),
    );
    void this.opened.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }

  get id(): string {
    return this.spec.id;
  }

  get lost(): boolean {
    return this.exit !== undefined;
  }

  start(job: RunJob, sink: RunSink): RunningProgram {
    if (this.current) throw new Error("Mecha: a session runs one program at a time");
    const run = new SessionRun(this.channel, job, sink, ++this.runs);
    if (this.lost) {
      run.lost(this.exit ?? null, null);
      return run;
    }
    this.current = run;
    for (const { stream, chunk } of this.between.splice(0)) run.text(stream, chunk);
    this.betweenBytes = 0;
    // Everything a run can write is bounded: the event channel by its output limit too.
    this.reader.grant(3 * job.limits.outputBytes + MiB);
    void run.begin();
    return run;
  }

  async readFile(path: string): Promise<SessionFile> {
    if (this.lost) throw new SessionFileError("unavailable", "the session has ended");
    const limit = this.context.settings.maxFileBytes;
    const id = ++this.lastRead;
    this.reader.grant(Math.ceil(limit / 3) * 4 + 4096);
    const answered = new Promise<ReadReply | null>((resolve) => this.reads.set(id, resolve));
    this.send({ op: "read", id, path, limit });
    const reply = await within(READ_MS, answered);
    this.reads.delete(id);
    if (!reply) {
      throw new SessionFileError(
        "unavailable",
        this.lost
          ? "the session ended before it could read the file"
          : `the session did not answer within ${READ_MS / 1000} s (its code may be holding the interpreter)`,
      );
    }
    if (reply.error === "too_large") {
      throw new SessionFileError(
        "too_large",
        `${path} is ${reply.size ?? "more than"} bytes, over the ${limit}-byte limit on a file.`,
      );
    }
    if (reply.error !== null || reply.content === null) {
      throw new SessionFileError(
        "not_found",
        `No regular file ${path} in the session's directory.`,
      );
    }
    return { size: reply.size ?? 0, content: Buffer.from(reply.content, "base64") };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.kill();
    await this.ended;
  }

  private kill(): void {
    this.context.place.prepared.kill();
  }

  private send(message: Record<string, unknown>): void {
    if (this.lost || this.control.destroyed || this.control.writableEnded) return;
    this.control.write(`${JSON.stringify(message)}\n`);
  }

  private output(stream: Stream, chunk: Buffer): void {
    if (this.order.push(stream, chunk)) return;
    if (this.current) this.current.stop("output_exceeded");
    else this.bound();
  }

  /**
   * No run is in progress: past BETWEEN_BYTES held back for displays that have not come (a
   * display marker the program forged), output flows on and is kept as other output between runs.
   */
  private bound(): void {
    if (this.order.holding > BETWEEN_BYTES) this.order.letGo();
  }

  /** Output while no run is in progress: kept (up to BETWEEN_BYTES) for the next run. */
  private hold(stream: Stream, chunk: Buffer): boolean {
    if (this.runs === 0 && stream === "stderr" && this.setupStderr.length < 8192) {
      this.setupStderr += chunk.toString("utf8");
    }
    if (this.betweenBytes + chunk.length > BETWEEN_BYTES) return true;
    this.between.push({ stream, chunk: Buffer.from(chunk) });
    this.betweenBytes += chunk.length;
    return true;
  }

  private onEvent(event: ProgramEvent): void {
    const run = this.current;
    switch (event.type) {
      case "input":
        run?.prompt(event.prompt);
        break;
      case "display":
      case "end":
        if (!this.order.display(event)) run?.stop("output_exceeded");
        break;
      case "error": {
        const { name, message, line, traceback } = event;
        run?.described({ type: name, message, line, traceback });
        break;
      }
      case "file":
        run?.file(event);
        break;
      case "read":
        this.reads.get(event.id)?.(event);
        break;
      default:
    }
  }

  /** The interpreter has ended: the run in progress ends with it, and what it held is freed. */
  private async onExit(exit: KernelExit | null): Promise<void> {
    this.exit = exit;
    const { prepared } = this.context.place;
    if (!exit?.alone) {
      prepared.kill();
      await within(GONE_MS, prepared.gone);
      await prepared.cgroup?.killAll();
    }
    await within(
      DRAIN_MS,
      Promise.all([closed(prepared.stdout), closed(prepared.stderr), closed(prepared.events)]),
    );
    this.order.finish();
    for (const resolve of this.reads.values()) resolve(null);
    const usage = (await prepared.cgroup?.usage().catch(() => null)) ?? null;
    this.current?.lost(exit, usage);
    await prepared.release().catch(() => {});
    this.context.finished();
  }
}
