import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { mountRunsTmpfs, mountsBelow } from "../src/runtime/runsTmpfs";
import { sweepStaleDirectories } from "../src/runtime/stateDirectory";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A pid no process has now: one that has just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

it("sweeps what servers that are gone left in the temporary directory, and nothing else", () => {
  const root = mkdtempSync(join(tmpdir(), "sweep-"));
  made.push(root);
  const dead = deadPid();
  const stale = [join(root, `mecha-${dead}-abc123`), join(root, `mecha-run-${dead}-def456`)];
  const kept = [
    join(root, `mecha-${process.pid}-mine`),
    join(root, `mecha-${process.ppid}-parent`),
    join(root, "mecha-notapid"),
    join(root, `other-${dead}-x`),
  ];
  for (const dir of [...stale, ...kept]) {
    mkdirSync(join(dir, "python"), { recursive: true });
    writeFileSync(join(dir, "python", "bootstrap.py"), "");
  }
  sweepStaleDirectories(root);
  for (const dir of stale) expect(existsSync(dir), dir).toBe(false);
  for (const dir of kept) expect(existsSync(dir), dir).toBe(true);
});

const root = process.getuid?.() === 0;
if (!root) console.warn("SKIPPED: mounting a runs' tmpfs to sweep needs root.");
it.skipIf(!root)(
  "sweeps a stale directory whose runs' tmpfs is still mounted, unmounting it first",
  () => {
    const root = mkdtempSync(join(tmpdir(), "sweep-"));
    made.push(root);
    const stale = join(root, `mecha-${deadPid()}-abc123`);
    const runs = join(stale, "runs");
    mkdirSync(runs, { recursive: true });
    expect(mountRunsTmpfs(runs, 1 << 20, 64)).toBe(true);
    writeFileSync(join(runs, "left.txt"), "x");
    expect(mountsBelow(stale)).toEqual([runs]);
    sweepStaleDirectories(root);
    expect(mountsBelow(stale)).toEqual([]);
    expect(existsSync(stale)).toBe(false);
  },
);
