import { readdir, readFile } from "node:fs/promises";

/** How long a sweep goes on killing, until no live process of the uid is left. */
const SWEEP_MS = 2000;

/** Pids of live processes (zombies hold nothing) with `uid` as their real, effective or saved uid. */
async function processesOf(uid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const ids = /\nUid:\s+(\d+)\s+(\d+)\s+(\d+)/.exec(status);
    if (!ids || /\nState:\s+[ZX]/.test(status)) continue;
    if (ids.slice(1).some((id) => Number(id) === uid)) found.push(Number(entry));
  }
  return found;
}

/**
 * Kills every process of a run's uid that left its process group where no cgroup holds it (the
 * spawn path without the sandbox, as root): from the server, which none of them may signal, so
 * no process of the uid can end the sweep (a sweeper that took the uid could be killed by one);
 * again until none is left or SWEEP_MS have passed. A setuid program the run started has the
 * run's uid as its real one, and is found too.
 */
export async function sweepUid(uid: number): Promise<void> {
  const deadline = performance.now() + SWEEP_MS;
  while (performance.now() < deadline) {
    const pids = await processesOf(uid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
