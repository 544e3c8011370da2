import * as fs from "node:fs";
import { basename, join } from "node:path";
import type { CgroupLimits, CgroupManager } from "./cgroup";
import {
  ControlFiles,
  countOomKills,
  killLoop,
  mkdir,
  pidsOf,
  ROOT,
  removeDir,
  removeIfEmpty,
  sweepStale,
  writable,
  writeFile,
} from "./cgroupFiles";

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
export async function createV1(self: Map<string, string>): Promise<CgroupManager | null> {
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
        cpuTimeMs() {
          const cpuNs = files.number(join(own.cpuacct, "cpuacct.usage"));
          return cpuNs === null ? null : cpuNs / 1e6;
        },
        async usage() {
          const cpuNs = files.number(join(own.cpuacct, "cpuacct.usage"));
          const peak = files.number(join(own.memory, "memory.max_usage_in_bytes"));
          let oomKills = 0;
          try {
            oomKills = countOomKills(files.read(join(own.memory, "memory.oom_control")));
          } catch {}
          return {
            cpuTimeMs: cpuNs === null ? null : cpuNs / 1e6,
            memoryKb: peak === null ? null : Math.round(Math.max(0, peak - residue) / 1024),
            oomKilled: oomKills > 0,
            oomKills,
          };
        },
        killAll: () => killLoop(all),
        processes: () => pidsOf([own.pids]),
        tasks: () => files.number(join(own.pids, "pids.current")),
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
