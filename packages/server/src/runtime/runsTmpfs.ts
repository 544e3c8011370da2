import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Where `mount` and `umount` are, whatever the server's own PATH. */
const SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Mounts a tmpfs of `bytes` and `inodes` on `dir` (mode 0711, no setuid, no devices) where the
 * server may (root on Linux; not in a container without CAP_SYS_ADMIN): runs' directories then
 * cost no disk and a fraction of the CPU, are capped together, and what a run writes there is
 * counted in its memory cgroup. False where it could not.
 */
export function mountRunsTmpfs(dir: string, bytes: number, inodes: number): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const options = `size=${bytes},nr_inodes=${inodes},mode=0711,nosuid,nodev`;
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", options, "mecha-runs", dir], {
    stdio: "ignore",
    env: { PATH: SYSTEM_PATH },
    timeout: 10_000,
  });
  return mounted.status === 0;
}

/** A mount point as /proc/self/mountinfo writes it: space, tab, newline and \ octal-escaped. */
function mountPoint(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Mount points at or below `dir` in this process's mount namespace, deepest first. */
export function mountsBelow(dir: string): string[] {
  let table: string;
  try {
    table = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  return table
    .split("\n")
    .map((line) => mountPoint(line.split(" ")[4] ?? ""))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Detaches whatever is mounted at or below `dir` (lazily: a process still in it keeps its view
 * until it goes), so that `dir` can be removed. Synchronous, for a process's exit too.
 */
export function unmountBelow(dir: string): void {
  for (const point of mountsBelow(dir)) {
    spawnSync("umount", ["-l", point], {
      stdio: "ignore",
      env: { PATH: SYSTEM_PATH },
      timeout: 10_000,
    });
  }
}
