import { existsSync } from "node:fs";
import { it } from "vitest";
import { INTERRUPT_GRACE_MS } from "../../src/runtime/session/sessionRun";

/**
 * How the hostile suite's programs are run: as single runs, or each inside a session of its
 * own (test/sessionHostile.test.ts sets `inSessions` before it imports the suite). Where a
 * session's rules differ from a run's, the suite says so through `sessionRules`.
 */
export const runMode = { inSessions: false };

export const sessionRules = {
  /** A session's run ends when its code does: a process it left holding stdout does not hold it. */
  heldOutputEndsRun: () => !runMode.inSessions,
  /** A session's run past its time limit is interrupted, and killed only after this much more. */
  extraStopMs: () => (runMode.inSessions ? INTERRUPT_GRACE_MS : 0),
  /** A session lives across runs: no CPU-time rlimit (each run has its time limit instead). */
  unlimitedRlimits: () => (runMode.inSessions ? ["RLIMIT_AS", "RLIMIT_CPU"] : ["RLIMIT_AS"]),
};

/**
 * Where the suites run their programs: in the sandbox (the default), or without it
 * (test/plainZygote.test.ts sets `sandbox: "none"` before it imports the suites: runs forked
 * from a zygote without namespaces). Without it, a case that holds only in a sandbox is left out
 * with its reason printed (see `casesWithout`).
 */
export const target: {
  sandbox: "required" | "none";
  startup: "spawn" | "zygote";
  /**
   * A process of Mecha's reaps what runs leave: the sandbox's init, or a zygote that is the
   * subreaper of its runs (Linux's); not a fresh interpreter per run, nor the zygote on macOS
   * (test/darwin/ sets it false).
   */
  reaper: boolean;
} = {
  sandbox: "required",
  // test/spawn.test.ts sets "spawn"; its handlers are made with it too.
  startup: "zygote",
  reaper: true,
};

/**
 * The program's parent is a process it may kill: on the spawn path without the sandbox, its
 * reporter (which relays its output and reports its end; see python/mecha_report.py) has the
 * run's uid and no pid namespace shields it. A program that kills it ends its own run, as
 * `failed`, and reaches nothing else.
 */
export const parentKillable = (): boolean =>
  target.sandbox === "none" && target.startup === "spawn";

const isRoot = process.getuid?.() === 0;

/** What still holds without the sandbox on this host. */
export const plainLayers = {
  /** Each run has a uid of its own (the server is root). */
  ownUid: isRoot,
  /** The server makes cgroups for runs (as root, with cgroup v1's memory or cgroup v2). */
  cgroups:
    isRoot &&
    (existsSync("/sys/fs/cgroup/memory/cgroup.procs") ||
      existsSync("/sys/fs/cgroup/cgroup.controllers")),
};

/**
 * `it`, but without the sandbox a case whose number (what its name starts with, up to its first
 * ".") `without` lists with a reason is left out, saying why: the reason is where it does not hold.
 */
export function casesWithout(without: Record<string, string | null>): typeof it {
  const guarded = (name: string, fn: () => Promise<void>, timeout?: number) => {
    const reason = target.sandbox === "none" ? without[name.split(".")[0] ?? ""] : null;
    if (reason) {
      console.warn(`EXCLUDED without the sandbox: "${name}": ${reason}`);
      it.skip(`${name} (left out: ${reason})`, fn);
      return;
    }
    it(name, fn, timeout);
  };
  return guarded as unknown as typeof it;
}
