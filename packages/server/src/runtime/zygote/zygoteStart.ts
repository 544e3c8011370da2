import type { ChildProcess } from "node:child_process";
import type { Spawner } from "../options";

/** What every zygote is started with. */
export interface ZygoteBase {
  python: string;
  /** The server's copy of the Python files (zygote.py and the bootstrap). */
  bootstrapDir: string;
  seccompFile: string | null;
  /** Environment of the zygote and so of every run (allow-listed by the caller). */
  env: Record<string, string>;
  /**
   * Directories a run's cgroups are made in (one per hierarchy; see `CgroupManager.joinable`):
   * each run moves itself into its cgroups, as its first step, through descriptors of these.
   * Null: the server moves each run.
   */
  cgroupParents: readonly string[] | null;
  spawn: Spawner;
}

/** A zygote in bubblewrap: each run forked into namespaces of its own (python/mecha_sandbox_runs.py). */
export interface SandboxedZygoteConfig extends ZygoteBase {
  kind: "sandbox";
  bwrap: string;
  pythonPrefix: string;
  etcDir: string;
  /** Extra read-only binds (source, target) the sandbox needs (see `sandboxBinds`). */
  binds: readonly (readonly [string, string])[];
  diskBytes: number;
  /** Host uid and gid the zygote runs as when the server is root. */
  uid: number | null;
  /**
   * Host uids runs may be given, one per run (`uid` outside them): the server, as root, maps
   * them into the zygote's user namespace, where run k (1-based) is uid k. Null: every run is the
   * zygote's own uid on the host, as when the server is not root.
   */
  runUids: { start: number; size: number } | null;
}

/**
 * A zygote without namespaces (python/mecha_plain_runs.py), started as the server's own user:
 * each run in a process group, working directory and, when the server is root, uid of its own.
 */
export interface PlainZygoteConfig extends ZygoteBase {
  kind: "plain";
  /** Where the server makes each run's directories (`<runsDir>/<id>`, `<runsDir>/<id>.tmp`). */
  runsDir: string;
  /** Host uids runs are given, one per run (the server is root); null: the server's uid. */
  runUids: { start: number; size: number } | null;
}

export type ZygoteConfig = SandboxedZygoteConfig | PlainZygoteConfig;

/** The descriptors a zygote is started with beyond its pipes (see python/mecha_zygote.py). */
export interface ZygoteDescriptors {
  seccomp: number | null;
  /** Directories of `cgroupParents`, found by the zygote on fds 8 on. */
  cgroupParents: number[];
}

/** A zygote process just started, and how its runs' pids are found on the host. */
export interface ZygoteStart {
  child: ChildProcess;
  /** The zygote's host pid once it is running as configured (null: it never was). */
  hostPid: Promise<number | null>;
  /** The host pid of a run whose first process has `pid` in the zygote's pid namespace. */
  hostPidOf(zygotePid: number, pid: number): number | null;
}
