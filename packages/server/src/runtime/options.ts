import type { ChildProcess, SpawnOptions } from "node:child_process";
import type { Logger } from "./types";

/** Starts a process; injectable so that tests (or another start-up path) can replace it. */
export type Spawner = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => ChildProcess;

/** Options of the Python runtime; `createHandler` takes every one of them too. */
export interface RuntimeOptions {
  /**
   * The Python interpreter: a path, or a command found on PATH (a virtual environment's
   * `bin/python` works: its prefix is made visible read-only in the sandbox). Defaults to the
   * distribution's own `python3`, else the first working one on PATH (`python3`, `python`,
   * `py -3`).
   */
  python?: string;
  /**
   * `"auto"` uses bubblewrap when it works and falls back to process isolation with a warning;
   * `"required"` refuses to run without it; `"none"` never uses it.
   * @default "auto"
   */
  sandbox?: "auto" | "required" | "none";
  /**
   * How runs start: `"zygote"` (one interpreter started once forks each run and isolates it
   * before the run's code executes — in bubblewrap: its own user, pid, mount, ipc, uts and
   * cgroup namespaces, a network namespace no other running run is in, a host uid of its own
   * when the server is root, no capabilities, the seccomp filter; without the sandbox, on Linux:
   * its own process group, directories and, as root, uid, no capabilities, no_new_privs and a
   * seccomp filter that leaves it the network) or `"spawn"` (a fresh interpreter per run, in
   * bubblewrap when there is one: about three times the CPU per run). When the zygote cannot
   * start, runs spawn, and the server says so.
   * @default "zygote"
   */
  startup?: "spawn" | "zygote";
  /**
   * Modules the zygote imports once, before it forks any run, so that every run has them
   * loaded for free (e.g. `["numpy", "pandas", "matplotlib"]`; `matplotlib` also preloads
   * `matplotlib.pyplot` and the inline backend). Each must import in the sandbox and leave no
   * thread running, or the server does not start, and says which. Off by default: a larger
   * zygote makes every run's fork a little dearer (see the README for when it pays). Only the
   * zygote start-up path preloads (with the sandbox or without); with `startup: "spawn"` it is
   * ignored.
   * @default []
   */
  preload?: readonly string[];
  /**
   * Processes and threads one run may have at once.
   * @default 64
   */
  maxProcesses?: number;
  /**
   * Largest file a program may write, in bytes.
   * @default 10485760
   */
  maxFileBytes?: number;
  /**
   * Files a program may have open at once.
   * @default 256
   */
  maxOpenFiles?: number;
  /**
   * Size of the sandbox's /tmp, /dev/shm and working directory, each, in bytes.
   * @default 67108864
   */
  diskBytes?: number;
  /**
   * Use cgroups for memory and process limits and kernel accounting where they can be created.
   * @default true
   */
  cgroups?: boolean;
  /**
   * When the server runs as root, runs (and the zygote) get unprivileged uids from this range,
   * never two at once, and no other Mecha server on the host uses the same range at the same
   * time. Without it, the server claims the first free block of 4096 uids from 200000 up.
   */
  uidRange?: { start: number; size: number };
  /**
   * Interpreters kept started (isolated, in their cgroup, waiting for a job) so that a run does
   * not wait for one to start. Each costs one idle interpreter's memory (~10 MB) and, when the
   * server is root, a uid of `uidRange`. Four (one more than `concurrency` where that is
   * smaller), so that runs one after another do not find none ready while the ones they used
   * are still being ended.
   * @default 4
   */
  warmPool?: number;
  /**
   * Runs executing at once: each run's share of the per-user kernel counters (inotify instances
   * and watches, queued signals, message-queue bytes) is what this many runs together may hold.
   * `createHandler` passes its `maxConcurrent`.
   * @default 8
   */
  concurrency?: number;
  /** Starts processes. @default node:child_process spawn */
  spawn?: Spawner;
  /** @default console */
  logger?: Logger;
}

/** The runtime's options with every default applied, read once. */
export interface RuntimeSettings {
  python: string | undefined;
  sandbox: "auto" | "required" | "none";
  startup: "spawn" | "zygote";
  preload: string[];
  maxProcesses: number;
  maxFileBytes: number;
  maxOpenFiles: number;
  diskBytes: number;
  cgroups: boolean;
  uidRange: { start: number; size: number } | null;
  warmPool: number;
  concurrency: number;
  spawn: Spawner | undefined;
  logger: Logger;
}

function whole(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`Mecha: option ${name} must be a whole number ≥ ${min}, got ${value}`);
  }
  return value;
}

/** A module's dotted name, as `import` takes it. */
const MODULE_NAME = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

export function resolveRuntimeOptions(options: RuntimeOptions = {}): RuntimeSettings {
  const sandbox = options.sandbox ?? "auto";
  if (!["auto", "required", "none"].includes(sandbox)) {
    throw new TypeError(`Mecha: option sandbox must be auto, required or none, got ${sandbox}`);
  }
  const startup = options.startup ?? "zygote";
  if (startup !== "spawn" && startup !== "zygote") {
    throw new TypeError(`Mecha: option startup must be spawn or zygote, got ${startup}`);
  }
  const range = options.uidRange;
  const preload = [...(options.preload ?? [])];
  for (const name of preload) {
    if (typeof name !== "string" || !MODULE_NAME.test(name)) {
      throw new TypeError(
        `Mecha: option preload must list module names such as "numpy" or "matplotlib.pyplot", got ${JSON.stringify(name)}`,
      );
    }
  }
  const concurrency = whole("concurrency", options.concurrency, 8);
  return {
    python: options.python,
    sandbox,
    startup,
    preload: [...new Set(preload)],
    maxProcesses: whole("maxProcesses", options.maxProcesses, 64),
    maxFileBytes: whole("maxFileBytes", options.maxFileBytes, 10 << 20),
    maxOpenFiles: whole("maxOpenFiles", options.maxOpenFiles, 256, 16),
    diskBytes: whole("diskBytes", options.diskBytes, 64 << 20, 1 << 20),
    cgroups: options.cgroups ?? true,
    uidRange: range
      ? {
          start: whole("uidRange.start", range.start, 0, 1000),
          size: whole("uidRange.size", range.size, 0, 2),
        }
      : null,
    warmPool: whole("warmPool", options.warmPool, Math.min(4, concurrency + 1), 0),
    concurrency,
    spawn: options.spawn,
    logger: options.logger ?? console,
  };
}
