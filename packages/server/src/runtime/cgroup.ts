import { join } from "node:path";
import { access, parseProcCgroups, ROOT, readFile } from "./cgroupFiles";
import { createV1 } from "./cgroupV1";
import { createV2 } from "./cgroupV2";

export { parseProcCgroups } from "./cgroupFiles";

/** Per-run limits enforced by the kernel across every process of a run. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

/** Kernel accounting read from a run's cgroup when it ends. */
export interface CgroupUsage {
  cpuTimeMs: number | null;
  memoryKb: number | null;
  oomKilled: boolean;
  /** Processes the out-of-memory killer has ended in the cgroup, ever (a session's over runs). */
  oomKills?: number;
}

export interface RunCgroup {
  /** Its directory's name, the same under each of the manager's `parents`. */
  readonly name: string;
  /** Moves a process (and so all it later starts) into the run's cgroup. */
  add(pid: number): Promise<void>;
  /** Changes the memory limit (a warm process learns its run's limit when the job arrives). */
  setMemory(bytes: number): Promise<void>;
  usage(): Promise<CgroupUsage>;
  /**
   * CPU time used in the cgroup so far, read now (synchronously): a run reads it when its clock
   * starts and when it ends, so that what an interpreter spent getting ready before its job, or
   * its processes being torn down after, is not counted as the run's.
   */
  cpuTimeMs(): number | null;
  /** Kills every process in the cgroup, however it was started, until none is left. */
  killAll(): Promise<void>;
  /** The processes in the cgroup now. */
  processes(): Promise<number[]>;
  /**
   * How many tasks (threads, zombies included) the cgroup holds now, from its `pids.current`
   * counter (read synchronously, without listing them); null when it cannot be read.
   */
  tasks(): number | null;
  remove(): Promise<void>;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /**
   * The directories runs' cgroups are made in (one per hierarchy) when a run's first process may
   * move itself into them, writing its `tasks` through a descriptor of each (cgroup v1); null
   * when only the server may (cgroup v2 asks for write access to the cgroup both have in common,
   * here the server's own).
   */
  readonly joinable: readonly string[] | null;
  /**
   * A cgroup for a run. With `joiner`, that host uid may write its `tasks` files (see
   * `joinable`): it may move its own threads into this cgroup, and nothing else.
   */
  create(id: string, limits: CgroupLimits, joiner?: number): Promise<RunCgroup>;
  /** Removes the cgroups kept for later runs; those given back afterwards are removed at once. */
  close(): Promise<void>;
}

/**
 * A cgroup manager when this process may create cgroups (Linux, usually as root), else null.
 * Runs go in cgroups nested under the server's own, so a host's limits still apply.
 */
export async function createCgroupManager(): Promise<CgroupManager | null> {
  if (process.platform !== "linux") return null;
  let self: Map<string, string>;
  try {
    self = parseProcCgroups(await readFile("/proc/self/cgroup", "utf8"));
  } catch {
    return null;
  }
  const unified = await access(join(ROOT, "cgroup.controllers")).then(
    () => true,
    () => false,
  );
  return unified ? createV2(self) : createV1(self);
}
