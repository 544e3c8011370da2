import * as fs from "node:fs";
import { join } from "node:path";

// Reading and writing cgroupfs files takes microseconds, less than the thread pool round trip of
// fs/promises, so those helpers are synchronous inside, with the promise signatures the code
// awaits. Moving a process between cgroups (cgroup.procs) is the exception: its first write of a
// burst waits for an RCU grace period (about a millisecond, no CPU), and so do making and
// removing cgroups under load; those go to the thread pool, leaving the event loop free.
export const { constants } = fs;
export const access = async (path: string, mode?: number) => fs.accessSync(path, mode);
export const mkdir = async (path: string, options?: fs.MakeDirectoryOptions) => {
  await fs.promises.mkdir(path, options);
};
export const readFile = async (path: string, encoding: BufferEncoding) =>
  fs.readFileSync(path, encoding);
export const readdir = async (path: string) => fs.readdirSync(path);
export const rmdir = (path: string) => fs.promises.rmdir(path);
export const writeFile = async (path: string, data: string) => fs.writeFileSync(path, data);
/** Moves a process into a cgroup (see above). */
export const attach = (dir: string, pid: number) =>
  fs.promises.writeFile(join(dir, "cgroup.procs"), String(pid));

export const ROOT = "/sys/fs/cgroup";

export async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A process's cgroups (`/proc/<pid>/cgroup`) by controller ("" for cgroup v2's). */
export function parseProcCgroups(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.trim().split("\n")) {
    const [, controllers = "", path = "/"] = line.split(":");
    for (const controller of controllers.split(",")) map.set(controller, path);
  }
  return map;
}

export async function readNumber(path: string): Promise<number | null> {
  try {
    const value = Number((await readFile(path, "utf8")).trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

export const pidsOf = async (dirs: string[]): Promise<number[]> => pidsOfNow(dirs);

export function pidsOfNow(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    try {
      for (const line of fs.readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
        const pid = Number(line);
        if (pid > 0) pids.add(pid);
      }
    } catch {
      // already removed
    }
  }
  return [...pids];
}

export async function killLoop(dirs: string[]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await pidsOf(dirs);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((resolve) => setTimeout(resolve, round < 5 ? 2 : 10));
  }
}

export async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      // EBUSY while the last killed processes are being reaped
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * Removes the cgroups that are empty, as they usually are once their run has ended, and returns
 * the ones that still hold processes (to be swept first).
 */
export async function removeIfEmpty(dirs: string[]): Promise<string[]> {
  const busy: string[] = [];
  await Promise.all(
    dirs.map((dir) =>
      rmdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") busy.push(dir);
      }),
    ),
  );
  return busy;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes run cgroups left by servers that died (named `<pid>-<run id>`), killing anything
 * still inside them.
 */
export async function sweepStale(parents: string[]): Promise<void> {
  for (const parent of parents) {
    let entries: string[];
    try {
      entries = await readdir(parent);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
      if (!pid || pid === process.pid || alive(pid)) continue;
      const dir = join(parent, entry);
      await killLoop([dir]);
      await removeDir(dir);
    }
  }
}

/**
 * Control files of a cgroup that is kept for later runs, each opened once and read again from
 * its start (the kernel writes a cgroupfs file anew for a read at offset 0). Not for reading
 * v1's `cgroup.procs`: an open one keeps listing what it listed for up to a second.
 */
export class ControlFiles {
  private readonly fds = new Map<string, number>();
  private readonly buffer = Buffer.alloc(4096);

  private fd(path: string): number {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      try {
        fd = fs.openSync(path, constants.O_RDWR);
      } catch {
        // Read-only files refuse a descriptor open for writing, even to root.
        fd = fs.openSync(path, constants.O_RDONLY);
      }
      this.fds.set(path, fd);
    }
    return fd;
  }

  read(path: string): string {
    const fd = this.fd(path);
    let text = "";
    for (let offset = 0; ; ) {
      const count = fs.readSync(fd, this.buffer, 0, this.buffer.length, offset);
      text += this.buffer.toString("utf8", 0, count);
      // The kernel writes a control file out whole when it fits what a read asks for: a
      // shorter read is its end.
      if (count < this.buffer.length) return text;
      offset += count;
    }
  }

  number(path: string): number | null {
    try {
      const value = Number(this.read(path).trim());
      return Number.isFinite(value) ? value : null;
    } catch {
      return null;
    }
  }

  write(path: string, data: string): void {
    fs.writeSync(this.fd(path), data);
  }

  /** A write on the thread pool (moving a process into a cgroup may wait, see above). */
  writeAsync(path: string, data: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.fd(path);
      } catch (error) {
        reject(error);
        return;
      }
      fs.write(fd, data, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    for (const fd of this.fds.values()) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    this.fds.clear();
  }
}

/** The `oom_kill N` count of a memory.oom_control (v1) or memory.events (v2) file. */
export function countOomKills(text: string): number {
  const count = /oom_kill (\d+)/.exec(text)?.[1];
  return count ? Number(count) : 0;
}
