import { chown, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** A run's working directory and temporary directory, where there is no sandbox to give them. */
export interface RunDirectories {
  work: string;
  tmp: string;
  /** Removes both, with whatever the run left in them. */
  remove(): Promise<void>;
}

/**
 * Makes a run's directories under `runsDir` (`<id>` and `<id>.tmp`, as python/mecha_plain_runs.py
 * finds them): mode 0700, and the run's own when it has a uid of its own. They are removed only
 * once nothing of the run is left to race the removal (see `createZygoteLauncher`).
 */
export async function makeRunDirectories(
  runsDir: string,
  id: string,
  uid: number | null,
): Promise<RunDirectories> {
  const work = join(runsDir, id);
  const tmp = `${work}.tmp`;
  const remove = async () => {
    await Promise.all([work, tmp].map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    await Promise.all([work, tmp].map((dir) => mkdir(dir, { mode: 0o700 })));
    if (uid !== null) await Promise.all([work, tmp].map((dir) => chown(dir, uid, uid)));
  } catch (cause) {
    await remove().catch(() => {});
    throw cause;
  }
  return { work, tmp, remove };
}
