import * as fs from "node:fs";
import { basename, join } from "node:path";

// Reading and writing cgroupfs files takes microseconds, less than the thread pool round trip of
// fs/promises, so those helpers are synchronous inside, with the promise signatures the code
// awaits. Moving a process between cgroups (cgroup.procs) is the exception: its first write of a
// burst waits for an RCU grace period (about a millisecond, no CPU), and so do making and
// removing cgroups under load; those go to the thread pool, leaving the event loop free.
const { constants } = fs;
const access = async (path: string, mode?: number) => fs.accessSync(path, mode);
const mkdir = async (path: string, options?: fs.MakeDirectoryOptions) => {
  await fs.promises.mkdir(path, options);
};
const readFile = async (path: string, encoding: BufferEncoding) => fs.readFileSync(path, encoding);
const readdir = async (path: string) => fs.readdirSync(path);
const rmdir = (path: string) => fs.promises.rmdir(path);
const writeFile = async (path: string, data: string) => fs.writeFileSync(path, data);
/** Moves a process into a cgroup (see above). */
const attach = (dir: string, pid: number) =>
  fs.promises.writeFile(join(dir, "cgroup.procs"), String(pid));

const ROOT = "/sys/fs/cgroup";

/** Per-run limits enforced by the kernel across every process of a run. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

/** Kernel accounting read from a run's cgroup when it ends. */
export interface CgroupUsage {
  cpuTimeMs: number | null;
  memoryKb: number | null;
  oomKilled: boolean;
}

export interface RunCgroup {
  /** Its directory's name, the same under each of the manager's `parents`. */
  readonly name: string;
  /** Moves a process (and so all it later starts) into the run's cgroup. */
  add(pid: number): Promise<void>;
  /** Changes the memory limit (a warm process learns its run's limit when the job arrives). */
  setMemory(bytes: number): Promise<void>;
  usage(): Promise<CgroupUsage>;
  /** Kills every process in the cgroup, however it was started, until none is left. */
  killAll(): Promise<void>;
  /** The processes in the cgroup now. */
  processes(): Promise<number[]>;
  remove(): Promise<void>;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /**
   * The directories runs' cgroups are made in (one per hierarchy) when a run's first process may
   * move itself into them, writing its `tasks` through a descriptor of each (cgroup v1); null
   * when only the server may (cgroup v2 asks for write access to the cgroup both have in common,
   * here the server's own).
   */
  readonly joinable: readonly string[] | null;
  /**
   * A cgroup for a run. With `joiner`, that host uid may write its `tasks` files (see
   * `joinable`): it may move its own threads into this cgroup, and nothing else.
   */
  create(id: string, limits: CgroupLimits, joiner?: number): Promise<RunCgroup>;
  /** Removes the cgroups kept for later runs; those given back afterwards are removed at once. */
  close(): Promise<void>;
}

async function writable(path: string): Promise<boolean> {
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

async function readNumber(path: string): Promise<number | null> {
  try {
    const value = Number((await readFile(path, "utf8")).trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

const pidsOf = async (dirs: string[]): Promise<number[]> => pidsOfNow(dirs);

function pidsOfNow(dirs: string[]): number[] {
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

async function killLoop(dirs: string[]): Promise<void> {
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

async function removeDir(dir: string): Promise<void> {
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
async function removeIfEmpty(dirs: string[]): Promise<string[]> {
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

function alive(pid: number): boolean {
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
async function sweepStale(parents: string[]): Promise<void> {
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
class ControlFiles {
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

/** A run's cgroup v1 directories, one per hierarchy, and the limits last written to them. */
interface V1Dirs {
  memory: string;
  pids: string;
  cpuacct: string;
  limits: CgroupLimits;
  /** The uid its `tasks` files belong to. */
  joiner: number;
  files: ControlFiles;
}

/**
 * Empty cgroups kept for later runs (v1). Making a cgroup and removing it costs the kernel more
 * than a run's own set-up does, so one whose run has wholly ended goes to the next run instead:
 * its peak memory and CPU time are reset, and it is only kept with nothing left in it (no
 * process, no OOM kill on record, at most `RESIDUE` bytes still charged, which the next run's
 * peak does not count).
 */
const KEEP = 16;
const RESIDUE = 1 << 20;

async function writeMemoryLimit(dir: string, bytes: number): Promise<void> {
  // memory+swap may never be below memory alone: order the writes by direction. Without swap
  // accounting the memsw file is absent; the plain limit still holds.
  const limit = join(dir, "memory.limit_in_bytes");
  const memsw = join(dir, "memory.memsw.limit_in_bytes");
  const value = String(bytes);
  await writeFile(limit, value).catch(async () => {
    await writeFile(memsw, value).catch(() => {});
    await writeFile(limit, value);
  });
  await writeFile(memsw, value).catch(() => {});
}

/** cgroup v1: memory, pids and cpuacct hierarchies, each nested under the server's own cgroup. */
async function createV1(self: Map<string, string>): Promise<CgroupManager | null> {
  const parents: Record<"memory" | "pids" | "cpuacct", string> = {
    memory: join(ROOT, "memory", self.get("memory") ?? "/", "mecha"),
    pids: join(ROOT, "pids", self.get("pids") ?? "/", "mecha"),
    cpuacct: join(ROOT, "cpuacct", self.get("cpuacct") ?? "/", "mecha"),
  };
  try {
    for (const dir of Object.values(parents)) await mkdir(dir, { recursive: true });
  } catch {
    return null;
  }
  if (!(await writable(join(parents.memory, "cgroup.procs")))) return null;
  await sweepStale(Object.values(parents));
  const free: V1Dirs[] = [];
  let closed = false;

  /** Resets a cgroup whose run has wholly ended for the next run; false if it must go. */
  function recycle(dirs: V1Dirs): boolean {
    if (closed || free.length >= KEEP) return false;
    const { files } = dirs;
    try {
      // No task at all, not even one exited and not yet reaped (a counter, read from a kept
      // descriptor: listing cgroup.procs makes the kernel build and sort a pid list, three
      // times). A run's processes are in all three hierarchies: placed in each together, and
      // what they start inherits them.
      if (files.number(join(dirs.pids, "pids.current")) !== 0) return false;
      const charged = files.number(join(dirs.memory, "memory.usage_in_bytes"));
      const oom = files.read(join(dirs.memory, "memory.oom_control"));
      if (charged === null || charged > RESIDUE || /oom_kill [1-9]/.test(oom)) return false;
      files.write(join(dirs.memory, "memory.max_usage_in_bytes"), "0");
      files.write(join(dirs.cpuacct, "cpuacct.usage"), "0");
    } catch {
      return false;
    }
    return true;
  }

  const root = process.getuid?.() ?? 0;
  return {
    version: 1,
    joinable: [parents.memory, parents.pids, parents.cpuacct],
    async create(id, limits, joiner = root) {
      let dirs = free.shift();
      // Charges left from an earlier run (kernel objects freed later, say): not this run's.
      let residue = 0;
      if (dirs) {
        // Its memory limit stays the last run's until `setMemory` sets this run's: a run's
        // process uses next to nothing before its job arrives, and the limit is usually the same.
        if (dirs.limits.pids !== limits.pids) {
          await writeFile(join(dirs.pids, "pids.max"), String(limits.pids));
          dirs.limits = { ...dirs.limits, pids: limits.pids };
        }
        residue = dirs.files.number(join(dirs.memory, "memory.usage_in_bytes")) ?? 0;
      } else {
        dirs = {
          memory: join(parents.memory, id),
          pids: join(parents.pids, id),
          cpuacct: join(parents.cpuacct, id),
          limits: { ...limits },
          joiner: root,
          files: new ControlFiles(),
        };
        const made = dirs;
        await Promise.all([made.memory, made.pids, made.cpuacct].map((dir) => mkdir(dir)));
        await writeMemoryLimit(made.memory, limits.memoryBytes);
        await writeFile(join(made.pids, "pids.max"), String(limits.pids));
      }
      const own = dirs;
      const { files } = own;
      const all = [own.memory, own.pids, own.cpuacct];
      if (own.joiner !== joiner) {
        try {
          for (const dir of all) fs.chownSync(join(dir, "tasks"), joiner, -1);
        } catch (cause) {
          files.close();
          await removeIfEmpty(all);
          throw cause;
        }
        own.joiner = joiner;
      }
      return {
        name: basename(own.memory),
        async add(pid) {
          await Promise.all(
            all.map((dir) => files.writeAsync(join(dir, "cgroup.procs"), String(pid))),
          );
        },
        async setMemory(bytes) {
          if (own.limits.memoryBytes === bytes) return;
          await writeMemoryLimit(own.memory, bytes);
          own.limits = { ...own.limits, memoryBytes: bytes };
        },
        async usage() {
          const cpuNs = files.number(join(own.cpuacct, "cpuacct.usage"));
          const peak = files.number(join(own.memory, "memory.max_usage_in_bytes"));
          let oomKilled = false;
          try {
            oomKilled = /oom_kill [1-9]/.test(files.read(join(own.memory, "memory.oom_control")));
          } catch {}
          return {
            cpuTimeMs: cpuNs === null ? null : cpuNs / 1e6,
            memoryKb: peak === null ? null : Math.round(Math.max(0, peak - residue) / 1024),
            oomKilled,
          };
        },
        killAll: () => killLoop(all),
        processes: () => pidsOf([own.pids]),
        async remove() {
          if (recycle(own)) {
            free.push(own);
            return;
          }
          files.close();
          const busy = await removeIfEmpty(all);
          if (busy.length === 0) return;
          await killLoop(busy);
          for (const dir of busy) await removeDir(dir);
        },
      };
    },
    async close() {
      closed = true;
      const kept = free.splice(0);
      for (const dirs of kept) dirs.files.close();
      await Promise.all(kept.map((dirs) => removeIfEmpty([dirs.memory, dirs.pids, dirs.cpuacct])));
    },
  };
}

/** cgroup v2: one unified hierarchy, nested under the server's own cgroup. */
async function createV2(self: Map<string, string>): Promise<CgroupManager | null> {
  const parent = join(ROOT, self.get("") ?? "/", "mecha");
  try {
    await mkdir(parent, { recursive: true });
    // A v2 cgroup may only enable controllers for children when it holds no processes itself.
    await writeFile(join(parent, "cgroup.subtree_control"), "+memory +pids +cpu").catch(() =>
      writeFile(join(parent, "cgroup.subtree_control"), "+memory +pids"),
    );
  } catch {
    return null;
  }
  if (!(await writable(join(parent, "cgroup.procs")))) return null;
  await sweepStale([parent]);
  return {
    version: 2,
    joinable: null,
    async create(id, limits) {
      const dir = join(parent, id);
      await mkdir(dir);
      await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
      await writeFile(join(dir, "memory.swap.max"), "0").catch(() => {});
      await writeFile(join(dir, "pids.max"), String(limits.pids));
      return {
        name: id,
        async add(pid) {
          await attach(dir, pid);
        },
        async setMemory(bytes) {
          await writeFile(join(dir, "memory.max"), String(bytes));
        },
        async usage() {
          let cpuTimeMs: number | null = null;
          try {
            const stat = await readFile(join(dir, "cpu.stat"), "utf8");
            const usec = /usage_usec (\d+)/.exec(stat)?.[1];
            if (usec) cpuTimeMs = Number(usec) / 1000;
          } catch {}
          const peak = await readNumber(join(dir, "memory.peak"));
          let oomKilled = false;
          try {
            oomKilled = /oom_kill [1-9]/.test(await readFile(join(dir, "memory.events"), "utf8"));
          } catch {}
          return { cpuTimeMs, memoryKb: peak === null ? null : Math.round(peak / 1024), oomKilled };
        },
        processes: () => pidsOf([dir]),
        async killAll() {
          // cgroup.kill (Linux 5.14+) kills atomically, even processes forking at that moment.
          await writeFile(join(dir, "cgroup.kill"), "1").catch(() => {});
          await killLoop([dir]);
        },
        async remove() {
          if ((await removeIfEmpty([dir])).length === 0) return;
          await writeFile(join(dir, "cgroup.kill"), "1").catch(() => {});
          await killLoop([dir]);
          await removeDir(dir);
        },
      };
    },
    async close() {},
  };
}

/**
 * A cgroup manager when this process may create cgroups (Linux, usually as root), else null.
 * Runs go in cgroups nested under the server's own, so a host's limits still apply.
 */
export async function createCgroupManager(): Promise<CgroupManager | null> {
  if (process.platform !== "linux") return null;
  let self: Map<string, string>;
  try {
    self = parseProcCgroups(await readFile("/proc/self/cgroup", "utf8"));
  } catch {
    return null;
  }
  const unified = await access(join(ROOT, "cgroup.controllers")).then(
    () => true,
    () => false,
  );
  return unified ? createV2(self) : createV1(self);
}
