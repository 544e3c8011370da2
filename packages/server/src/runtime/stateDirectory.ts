import { readdirSync, rmSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unmountBelow } from "./runsTmpfs";

/** What Mecha names its directories in the temporary directory: `<prefix>-<server pid>-…`. */
const OURS = /^mecha(?:-run)?-(\d+)-/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the directories that servers which ended without cleaning up (killed, say) left in
 * the temporary directory: only this user's, only those of processes that are gone.
 */
export function sweepStaleDirectories(dir = tmpdir()): void {
  const uid = process.getuid?.();
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(OURS.exec(entry)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const path = join(dir, entry);
    try {
      if (uid !== undefined && statSync(path).uid !== uid) continue;
      // Its runs' tmpfs (see runsTmpfs.ts), if it had one, goes first.
      unmountBelow(path);
      rmSync(path, { recursive: true, force: true });
    } catch {
      // another server swept it first
    }
  }
}

/** A new directory of this server's in the temporary directory, named so it can be swept. */
export function makeTempDirectory(prefix: "mecha" | "mecha-run"): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-${process.pid}-`));
}
