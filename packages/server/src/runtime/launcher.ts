import type { Readable, Writable } from "node:stream";
import type { RunCgroup } from "./cgroup";

/** How a run's first process ended, from the kernel: never from anything the program wrote. */
export interface KernelExit {
  code: number | null;
  signal: string | null;
  /** wait4 accounting of the process and the children it waited for, where the path has it. */
  cpuTimeMs: number | null;
  memoryKb: number | null;
  /** Nothing else of the run was left when it ended (where the start-up path knows it). */
  alone: boolean;
}

/**
 * What a run can reach: the host's network (process isolation), nothing (a sandbox: no
 * interface is up), or nothing and no socket but AF_UNIX (a sandbox with its seccomp filter).
 */
export type RunNetwork = "host" | "none" | "unix";

/**
 * When nothing of a run is left: its processes are gone (`gone`) and, where its uid was swept
 * for what left its process group, the sweep has ended too.
 */
export function goneAfterSweep(gone: Promise<void>, swept: Promise<void> | null): Promise<void> {
  return swept ? Promise.all([gone, swept]).then(() => {}) : gone;
}

/**
 * The job as sent on fd 3: one line of JSON, whose newline ends it, so the program reads it at
 * once (a single run's channel is then closed; a session's stays open for its messages).
 */
export function jobLine(job: JobDocument): string {
  return `${JSON.stringify(job)}\n`;
}

/** The job as the bootstrap reads it on fd 3 (see python/bootstrap.py). */
export interface JobDocument {
  code: string;
  files: { path: string; content: string }[];
  args: string[];
  interactive: boolean;
  main: string;
  limits: Record<string, number | undefined>;
  /** Marks where each display falls in stdout and stderr (see `OutputOrder`). */
  marker: string;
  network: RunNetwork;
  /** Glob patterns of files to send back once the program has ended, and their byte budget. */
  returnFiles: string[];
  fileBytes: number;
  /** The spawn path: a reporter process reports how the program ended (see python/mecha_report.py). */
  report?: boolean;
  /**
   * The spawn path without the sandbox on Linux: the descriptor of the seccomp filter (BPF) the
   * bootstrap loads, with no_new_privs, before it forks the program (see python/bootstrap.py).
   */
  seccomp?: number;
  /** A session: the job channel stays open for its runs (see python/mecha_session.py). */
  session?: boolean;
  /** Windows: the limits of the run's job object (see python/mecha_windows.py). */
  windows?: { memoryBytes: number; processes: number };
}

/**
 * A started interpreter, isolated and in its cgroup, waiting for its job on fd 3: what every
 * start-up path (a `Launcher`) hands to a run.
 */
export interface PreparedRun {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly events: Readable;
  readonly cgroup: RunCgroup | null;
  /** The run has a user (host uid or user namespace) of its own: per-user limits are its own. */
  readonly ownUser: boolean;
  /**
   * Windows: the bootstrap contains the run in a job object of its own (python/mecha_windows.py).
   * Its job document then carries the job's limits, and the run's accounting comes from the
   * job's counters, which the bootstrap sends as an `accounting` event (Windows has no wait4,
   * and no process outside the run reads them).
   */
  readonly jobObject: boolean;
  /** The program ended; null when it was killed before it could say, or never started. */
  readonly exited: Promise<KernelExit | null>;
  /** No process of the run is left. */
  readonly gone: Promise<void>;
  /** It has ended (a warm interpreter that died waiting is never handed out). */
  readonly dead: boolean;
  /** Gives the program its job: nothing of it runs before. */
  sendJob(job: JobDocument): void;
  /** Gives a session its job, and keeps the channel open for the session's messages. */
  openSession(job: JobDocument): Writable;
  /** Ends the run's whole process tree. */
  kill(): void;
  /** Frees what the run held (its cgroup, uid, directories), killing what is left first. */
  release(): Promise<void>;
}

/** A start-up path: how a run's interpreter is started and isolated. */
export interface Launcher {
  readonly name: "zygote" | "spawn";
  /** Starts an interpreter for a future job; `cancelled` is asked before anything runs. */
  prepare(cancelled?: () => boolean): Promise<PreparedRun>;
  close(): void;
}

export class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor() {
    super("cancelled before start");
  }
}
