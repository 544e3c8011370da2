import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CgroupManager } from "./cgroup";
import {
  attach,
  countOomKills,
  killLoop,
  mkdir,
  pidsOf,
  ROOT,
  readFile,
  readNumber,
  removeDir,
  removeIfEmpty,
  sweepStale,
  writable,
  writeFile,
} from "./cgroupFiles";

/** cgroup v2: one unified hierarchy, nested under the server's own cgroup. */
export async function createV2(self: Map<string, string>): Promise<CgroupManager | null> {
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
        cpuTimeMs() {
          try {
            const usec = /usage_usec (\d+)/.exec(readFileSync(join(dir, "cpu.stat"), "utf8"))?.[1];
            return usec ? Number(usec) / 1000 : null;
          } catch {
            return null;
          }
        },
        async usage() {
          let cpuTimeMs: number | null = null;
          try {
            const stat = await readFile(join(dir, "cpu.stat"), "utf8");
            const usec = /usage_usec (\d+)/.exec(stat)?.[1];
            if (usec) cpuTimeMs = Number(usec) / 1000;
          } catch {}
          const peak = await readNumber(join(dir, "memory.peak"));
          let oomKills = 0;
          try {
            oomKills = countOomKills(await readFile(join(dir, "memory.events"), "utf8"));
          } catch {}
          const memoryKb = peak === null ? null : Math.round(peak / 1024);
          return { cpuTimeMs, memoryKb, oomKilled: oomKills > 0, oomKills };
        },
        processes: () => pidsOf([dir]),
        tasks() {
          try {
            return Number(readFileSync(join(dir, "pids.current"), "utf8"));
          } catch {
            return null;
          }
        },
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
