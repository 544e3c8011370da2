import { type ZygoteConfig, ZygoteProcess, type ZygoteRun } from "./zygoteProcess";
import type { ForkRequest } from "./zygoteProtocol";

export type { ForkedExit, ZygoteConfig, ZygoteRun } from "./zygoteProcess";

/**
 * A zygote: one interpreter started once (in bubblewrap, or plain where there is no sandbox)
 * that forks each run and isolates it before any of the run's code executes (see
 * python/zygote.py). Restarted when it dies.
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

  /** Where runs' directories are made, for a zygote without namespaces (see `PlainZygoteConfig`). */
  get runsDir(): string | null {
    return this.config.kind === "plain" ? this.config.runsDir : null;
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
    return this.process().fork(
      { ...request, uid: this.runUid(hostUid), disk: this.disk },
      place,
      locate,
    );
  }

  /** A run's uid as the zygote takes it: the sandbox's user namespace numbers the range from 1. */
  private runUid(hostUid: number | null): number | null {
    const range = this.config.runUids;
    if (
      !range ||
      hostUid === null ||
      hostUid < range.start ||
      hostUid >= range.start + range.size
    ) {
      return null;
    }
    return this.config.kind === "plain" ? hostUid : hostUid - range.start + 1;
  }

  private get disk(): number {
    return this.config.kind === "plain" ? 0 : this.config.diskBytes;
  }

  /** Kills every process of a run's host uid (a plain zygote's runs; see `ZygoteProcess.sweep`). */
  sweep(uid: number): Promise<void> {
    // By a new zygote if need be: what the run left may outlive the one that forked it.
    return this.closed ? Promise.resolve() : this.process().sweep(uid);
  }

  close(): void {
    this.closed = true;
    this.current?.kill();
    this.current = null;
  }
}
