// Linux /proc readers: process trees, resident memory, CPU time and machine-wide load.
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK)

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Fields of /proc/PID/stat after the command name (index 0 is the state, field 3). */
function statFields(pid) {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return null;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** Parent pid and start time (to tell a pid apart from a later reuse of the same number). */
export function processInfo(pid) {
  const fields = statFields(pid);
  if (!fields) return null;
  return { pid, ppid: Number(fields[1]), state: fields[0], startTime: fields[19] };
}

/** Every live descendant of `root` (not root itself). */
export function descendants(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (!info) continue;
    if (!children.has(info.ppid)) children.set(info.ppid, []);
    children.get(info.ppid).push(info);
  }
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}

/** True when the pid still names the same process (same start time) and it is not a zombie. */
export function stillAlive(info) {
  const now = processInfo(info.pid);
  return now !== null && now.startTime === info.startTime && now.state !== "Z" && now.state !== "X";
}

function rssKb(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) : 0;
}

/** Resident memory of a process and, summed, of all its live descendants, in KiB. */
export function treeRss(pid) {
  const kids = descendants(pid);
  return {
    selfKb: rssKb(pid),
    descendantsKb: kids.reduce((sum, child) => sum + rssKb(child.pid), 0),
    descendantCount: kids.length,
  };
}

/**
 * CPU time of a process in ms: its own, and that of the children it has reaped (which
 * includes their reaped descendants: python under bwrap under the server).
 */
export function processCpu(pid) {
  const fields = statFields(pid);
  if (!fields) return null;
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  const ms = (ticks) => (ticks * 1000) / CLOCK_TICKS;
  return { selfMs: ms(utime + stime), childrenMs: ms(cutime + cstime) };
}

/** Machine-wide busy CPU time so far, in ms (all cores summed). */
export function machineBusyMs() {
  const line = (read("/proc/stat") ?? "").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values;
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  void idle;
  void iowait;
  return (busy * 1000) / CLOCK_TICKS;
}

export function loadAverage() {
  return (read("/proc/loadavg") ?? "").split(" ").slice(0, 3).map(Number);
}

/**
 * Measures CPU used around `fn`: by the target's process tree (its cpuacct group when it has
 * one, else its own time plus the children it reaped), by the server process alone, by this
 * process, and by everything else on the machine ("other", in cores: other users' jobs and
 * kernel threads, including work the kernel does for the target such as tearing down
 * namespaces).
 */
export async function withCpuAccounting(handle, fn) {
  const pid = handle?.pid;
  const group = handle?.group ?? null;
  const tree = () => {
    const usage = group?.usage();
    if (usage) return usage;
    const cpu = pid ? processCpu(pid) : null;
    return cpu ? { totalMs: cpu.selfMs + cpu.childrenMs, userMs: null, sysMs: null } : null;
  };
  const t0 = performance.now();
  const machine0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const server0 = pid ? processCpu(pid) : null;
  const tree0 = tree();
  const value = await fn();
  const tree1 = tree();
  const server1 = pid ? processCpu(pid) : null;
  const self1 = process.cpuUsage(self0);
  const machine1 = machineBusyMs();
  const wallMs = performance.now() - t0;
  const delta = (key) =>
    tree0 && tree1 && tree0[key] !== null && tree1[key] !== null ? tree1[key] - tree0[key] : null;
  const targetMs = delta("totalMs") ?? 0;
  const serverMs = server0 && server1 ? server1.selfMs - server0.selfMs : 0;
  const benchMs = (self1.user + self1.system) / 1000;
  const otherMs = Math.max(0, machine1 - machine0 - targetMs - benchMs);
  return {
    value,
    cpu: {
      wallMs,
      source: group ? "cpuacct" : "proc",
      targetMs,
      targetUserMs: delta("userMs"),
      targetSysMs: delta("sysMs"),
      serverMs,
      childrenMs: Math.max(0, targetMs - serverMs),
      benchMs,
      otherCores: otherMs / wallMs,
    },
  };
}
