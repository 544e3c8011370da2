import { readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

/**
 * How much lower a spare interpreter's priority is while it gets ready (see `WarmPool.refill`):
 * on two cores, a spare that warms up at the priority of the run it will follow slows that run
 * down, which is waiting for nothing else.
 */
export const SPARE_NICE = 10;

/** CAP_SYS_NICE, which raising a process's priority again takes (capabilities(7)). */
const CAP_SYS_NICE = 23n;

let raising: boolean | undefined;

/**
 * Whether this server may raise a process's priority (Linux, with CAP_SYS_NICE: as root, unless
 * a container took the capability away). Only then are spares started at a lower priority.
 */
export function canRaisePriority(): boolean {
  if (raising === undefined) {
    raising = false;
    if (process.platform === "linux") {
      try {
        const status = readFileSync("/proc/self/status", "utf8");
        const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
        raising =
          effective !== undefined && ((BigInt(`0x${effective}`) >> CAP_SYS_NICE) & 1n) === 1n;
      } catch {
        raising = false;
      }
    }
  }
  return raising;
}

/**
 * Gives a spare its job's priority, the server's own (which the zygote, and so the spare before
 * it lowered itself, started with). False where it could not be: where the process is there but
 * its priority cannot be raised, spares are started at their job's priority from then on.
 */
export function raisePriority(pid: number): boolean {
  try {
    setPriority(pid, getPriority());
    return true;
  } catch (cause) {
    // Gone already: the run fails as it would have. Anything else: no more spares lowered.
    if ((cause as { info?: { code?: string } }).info?.code !== "ESRCH") raising = false;
    return false;
  }
}
