import { readFileSync } from "node:fs";

export const MiB = 1024 * 1024;

/** The resident memory of process `pid`, in bytes. */
export function rssOf(pid: number): number {
  const match = /\nVmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * How far the resident memory of process `pid` (a server) rises above where it was while `work`
 * runs, sampled every few ms.
 */
export async function peakRssGrowth<T>(
  pid: number,
  work: () => Promise<T>,
  everyMs = 20,
): Promise<{ value: T; growth: number }> {
  const before = rssOf(pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, everyMs);
  try {
    const value = await work();
    peak = Math.max(peak, rssOf(pid));
    return { value, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}
