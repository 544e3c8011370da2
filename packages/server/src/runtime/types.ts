import type {
  Display,
  ReturnedFile,
  RunError,
  RunFile,
  RunStatus,
  RuntimeInfo,
  RuntimePackage,
} from "@mecha/protocol";

/** Hard limits of one run. */
export interface Limits {
  /** Wall-clock limit in milliseconds. */
  timeoutMs: number;
  /** Memory limit in MiB: the run's cgroup where there is one (its job object on Windows), else its address space (see README). */
  memoryMb: number;
  /** stdout + stderr + displays cap in bytes (returned files share what is left); reaching it ends the run as `output_exceeded`. */
  outputBytes: number;
}

/** Logger with the shape of `console`. */
export interface Logger {
  debug?(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** A validated run, ready for a runtime. */
export interface RunJob {
  id: string;
  code: string;
  files: RunFile[];
  args: string[];
  /** Standard input given up front. */
  stdin: string;
  /** Keep stdin open for later writes (a streaming request) and report `input()` calls. */
  interactive: boolean;
  /** Glob patterns (relative to the working directory) of files to send back in the result. */
  returnFiles?: string[];
  limits: Limits;
  /** The session the run is in, if it is in one (its result says what became of the session). */
  sessionId?: string;
  /** Its session ended (DELETE, expiry, shutdown) before the run could start. */
  sessionEnded?: boolean;
}

/** Where a running program's output and prompts go, as they happen. */
export interface RunSink {
  stdout(data: string): void;
  stderr(data: string): void;
  input(prompt: string): void;
  /** Rich output (a plot, a table), in program order relative to stdout and stderr. */
  display(display: Display): void;
}

/** How a program ended: a `RunResult` without the fields the handler fills in. */
export interface RunOutcome {
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
  cpuTimeMs: number | null;
  memoryKb: number | null;
  error?: RunError;
  /** Rich output in program order; absent when the program displayed nothing. */
  displays?: Display[];
  /** Files matched by the job's `returnFiles`; absent when it named none. */
  files?: ReturnedFile[];
  /** For a run in a session: whether the session's interpreter is still there after it. */
  sessionState?: "kept" | "lost";
}

export interface RunningProgram {
  /** Feeds the program's stdin; `eof` closes it. */
  writeStdin(data: string, eof: boolean): void;
  /** Bytes given to `writeStdin` that the program has not taken yet (held by the server). */
  readonly stdinBuffered: number;
  /** Ends the program and every process it started; the outcome is `cancelled`. */
  cancel(): void;
  readonly done: Promise<RunOutcome>;
}

/** What a session starts with. */
export interface SessionSpec {
  id: string;
  /** Written into its working directory before its first run. */
  files: RunFile[];
  /** Its runs' limits unless a run gives its own; its memory limit holds for its whole life. */
  limits: Limits;
}

/** A file of a session's working directory. */
export interface SessionFile {
  size: number;
  content: Buffer;
}

/** Why a session's file could not be read. */
export class SessionFileError extends Error {
  override readonly name = "SessionFileError";
  constructor(
    readonly reason: "not_found" | "too_large" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/**
 * One interpreter that keeps its state from run to run (variables, imports, files), isolated
 * as a run is, with its memory and process limits over its whole life.
 */
export interface RuntimeSession {
  /** Runs a job in the session; its caller starts one at a time. */
  start(job: RunJob, sink: RunSink): RunningProgram;
  /** A regular file inside its working directory (never through a symbolic link). */
  readFile(path: string): Promise<SessionFile>;
  /** Its interpreter has ended (killed, out of memory, or closed): its state is gone. */
  readonly lost: boolean;
  /** Settles once its interpreter has ended. */
  readonly ended: Promise<void>;
  /** Ends its interpreter and frees what it held. */
  close(): Promise<void>;
}

/** Turns jobs into running programs. The handler owns HTTP, queueing and limits. */
export interface Runtime {
  /** What `/health` reports; rejects when no program can run (no interpreter, say). */
  info(): Promise<RuntimeInfo>;
  start(job: RunJob, sink: RunSink): RunningProgram;
  /** The distributions a program can import (`GET /runtimes`), where the runtime knows them. */
  packages?(): Promise<RuntimePackage[]>;
  /** What the runtime adds to `/health`'s `features` (e.g. "displays", "files"). */
  readonly features?: readonly string[];
  /** Opens a session (`POST /sessions`); absent where the runtime has none. */
  openSession?(spec: SessionSpec): Promise<RuntimeSession>;
  /** Ends every running program and releases what the runtime holds. */
  close(): Promise<void>;
}
