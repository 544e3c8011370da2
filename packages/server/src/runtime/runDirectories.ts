import { chownSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";

/** A run's working directory and temporary directory, where there is no sandbox to give them. */
export interface RunDirectories {
  work: string;
  tmp: string;
  /** Removes both, with whatever the run left in them. */
  remove(): Promise<void>;
}

/** Entries (at any depth) a directory may hold to be removed at once, without the thread pool. */
const SMALL = 64;

/**
 * Removes `dir` at once if it holds a few entries (as most runs leave it: `main.py`, matplotlib's
 * configuration directory): a few system calls on this thread cost less than a round of the
 * thread pool each. False when it holds more (what is left is for `rm`); true when it is gone.
 */
function removeSmall(dir: string, budget = { left: SMALL }): boolean {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    budget.left -= entries.length;
    if (budget.left < 0) return false;
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) unlinkSync(path);
      else if (!removeSmall(path, budget)) return false;
    }
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/**
 * Makes a run's directories under `runsDir` (`<id>` and `<id>.tmp`, as python/mecha_plain_runs.py
 * finds them): mode 0700, and the run's own when it has a uid of its own. They are removed only
 * once nothing of the run is left to race the removal (see `createZygoteLauncher`).
 */
export function makeRunDirectories(
  runsDir: string,
  id: string,
  uid: number | null,
): RunDirectories {
  const work = join(runsDir, id);
  const tmp = `${work}.tmp`;
  const remove = async () => {
    for (const dir of [work, tmp]) {
      if (!removeSmall(dir)) await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    for (const dir of [work, tmp]) {
      mkdirSync(dir, { mode: 0o700 });
      if (uid !== null) chownSync(dir, uid, uid);
    }
  } catch (cause) {
    void remove().catch(() => {});
    throw cause;
  }
  return { work, tmp, remove };
}
