// A cgroup v1 cpuacct group per target, entered before the target's own code starts: the
// kernel charges every process of the target's tree to it (and to its ancestors), however the
// processes are reaped. Without it (no cgroup v1 cpuacct, or not root) CPU time comes from
// /proc: the server's own time plus the children it reaped, which misses processes that
// bubblewrap's pid-namespace init leaves for the host's init to reap.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";

const CPUACCT = "/sys/fs/cgroup/cpuacct";
const created = new Set();

function readNs(path) {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return null;
  }
}

/** Removes a cgroup directory and its (empty) sub-cgroups, deepest first. */
function removeTree(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) removeTree(join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {}
}

/**
 * Creates `cpuacct/mecha-bench-<pid>-<name>`; null where that cannot be done. `wrap` returns
 * the command that enters the group and then execs the target (same pid).
 */
export function createAccountingGroup(name) {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return null;
  if (!existsSync(join(CPUACCT, "cpuacct.usage"))) return null;
  const path = join(CPUACCT, `mecha-bench-${process.pid}-${name}`);
  try {
    mkdirSync(path);
  } catch {
    return null;
  }
  created.add(path);
  return {
    path,
    wrap(command, args) {
      return {
        command: "/bin/sh",
        args: ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, command, ...args],
      };
    },
    /** CPU charged to the group so far, in ms. */
    usage() {
      const total = readNs(join(path, "cpuacct.usage"));
      const user = readNs(join(path, "cpuacct.usage_user"));
      const sys = readNs(join(path, "cpuacct.usage_sys"));
      if (total === null) return null;
      return { totalMs: total / 1e6, userMs: (user ?? 0) / 1e6, sysMs: (sys ?? 0) / 1e6 };
    },
    remove() {
      removeTree(path);
      created.delete(path);
    },
  };
}

/** Removes every group this process created (used on exit). */
export function removeAllGroups() {
  for (const path of created) removeTree(path);
  created.clear();
}
