import type { RunError, RunFile, RunStatus, RuntimeInfo } from "@mecha/protocol";
import type { Limits } from "../options";

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
  limits: Limits;
}

/** Where a running program's output and prompts go, as they happen. */
export interface RunSink {
  stdout(data: string): void;
  stderr(data: string): void;
  input(prompt: string): void;
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
}

export interface RunningProgram {
  /** Feeds the program's stdin; `eof` closes it. */
  writeStdin(data: string, eof: boolean): void;
  /** Ends the program and every process it started; the outcome is `cancelled`. */
  cancel(): void;
  readonly done: Promise<RunOutcome>;
}

/** Turns jobs into running programs. The handler owns HTTP, queueing and limits. */
export interface Runtime {
  /** What `/health` reports; rejects when no program can run (no interpreter, say). */
  info(): Promise<RuntimeInfo>;
  start(job: RunJob, sink: RunSink): RunningProgram;
  /** Ends every running program and releases what the runtime holds. */
  close(): Promise<void>;
}
