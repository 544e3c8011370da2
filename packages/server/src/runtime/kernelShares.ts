import { readFileSync } from "node:fs";

/**
 * Each run's share of the kernel counters that are kept per user rather than per process: a
 * run's user namespace and rlimits cap it so that the runs of one server together (all charged,
 * in the end, to its zygote's host uid) cannot exhaust them for each other.
 */
export interface KernelShares {
  inotifyInstances: number;
  inotifyWatches: number;
  /** RLIMIT_SIGPENDING: signals queued (sigqueue, real-time signals). */
  sigpending: number;
  /** RLIMIT_MSGQUEUE: bytes in POSIX message queues. */
  msgqueue: number;
}

function read(path: string, fallback: number): number {
  try {
    const value = Number(readFileSync(path, "utf8").trim().split(/\s+/)[0]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** The host's per-user limits, from /proc (Linux defaults where they cannot be read). */
export interface HostLimits {
  inotifyInstances: number;
  inotifyWatches: number;
  sigpending: number;
  msgqueue: number;
}

export function readHostLimits(): HostLimits {
  let sigpending = 4096;
  try {
    const line = /Max pending signals\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"));
    if (line) sigpending = Number(line[1]);
  } catch {}
  return {
    inotifyInstances: read("/proc/sys/fs/inotify/max_user_instances", 128),
    inotifyWatches: read("/proc/sys/fs/inotify/max_user_watches", 8192),
    sigpending,
    msgqueue: 819_200,
  };
}

/** Shares for `runs` runs at once, with one share left over for everything else. */
export function kernelShares(host: HostLimits, runs: number): KernelShares {
  const share = (total: number) => Math.max(1, Math.floor(total / (runs + 1)));
  return {
    inotifyInstances: share(host.inotifyInstances),
    inotifyWatches: share(host.inotifyWatches),
    sigpending: share(host.sigpending),
    msgqueue: share(host.msgqueue),
  };
}
