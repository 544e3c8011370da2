import { type ZygoteConfig, ZygoteProcess, type ZygoteRun } from "./zygoteProcess";
import type { ForkRequest } from "./zygoteProtocol";

export type { ForkedExit, ZygoteConfig, ZygoteRun } from "./zygoteProcess";

/**
 * A zygote: one interpreter started once in bubblewrap that forks each run and isolates it
 * before any of the run's code executes (see python/zygote.py). Restarted when it dies.
 */
export class Zygote {
  private current: ZygoteProcess | null = null;
  private closed = false;

  constructor(private readonly config: ZygoteConfig) {}

  private process(): ZygoteProcess {
    if (this.closed) throw new Error("the zygote is closed");
    if (!this.current || this.current.dead) {
      this.current = new ZygoteProcess(this.config);
    }
    return this.current;
  }

  /** Whether each run moves itself into its cgroups (see `cgroupParents`). */
  get joinsCgroups(): boolean {
    return (this.config.cgroupParents?.length ?? 0) > 0;
  }

  /**
   * Forks a run. `hostUid` (from `runUids`) is the uid it has on the host; `request.cgroup` the
   * name of the cgroups it moves itself into (see `cgroupParents`), where `locate` finds it.
   */
  fork(
    request: Omit<ForkRequest, "uid" | "disk">,
    hostUid: number | null,
    place: (hostPid: number) => Promise<void>,
    locate: (() => Promise<number | null>) | null,
  ): Promise<ZygoteRun> {
    const range = this.config.runUids;
    const uid =
      range && hostUid !== null && hostUid >= range.start && hostUid < range.start + range.size
        ? hostUid - range.start + 1
        : null;
    return this.process().fork({ ...request, uid, disk: this.config.diskBytes }, place, locate);
  }

  close(): void {
    this.closed = true;
    this.current?.kill();
    this.current = null;
  }
}
