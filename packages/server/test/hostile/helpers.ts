import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { RunResult } from "@mecha/protocol";

/** A Fetch handler: a `MechaHandler`, or one that forwards to a server elsewhere. */
export type Fetcher = (request: Request) => Promise<Response>;

export interface RunBody {
  code: string;
  stdin?: string;
  files?: { path: string; content: string }[];
  args?: string[];
  limits?: { timeoutMs?: number; memoryMb?: number; outputBytes?: number };
  returnFiles?: string[];
}

/** A string no other process on the host carries: it names one hostile program's processes. */
export function marker(prefix = "mecha-hostile"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** A `sleep` duration nobody else uses, e.g. `987.123456`, so leftover sleepers are findable. */
export function sleepMarker(): string {
  return `987.${String(randomBytes(3).readUIntBE(0, 3) % 1_000_000).padStart(6, "0")}`;
}

export function runRequest(body: RunBody, accept?: string): Request {
  return new Request("http://localhost/runs", {
    method: "POST",
    headers: { "content-type": "application/json", ...(accept ? { accept } : {}) },
    body: JSON.stringify({ language: "python", ...body }),
  });
}

/** POSTs a run and returns its RunResult; fails the test on any other response. */
export async function run(handler: Fetcher, body: RunBody): Promise<RunResult> {
  const response = await handler(runRequest(body));
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`POST /runs answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as RunResult;
}

/** Host pids whose command line contains `needle` (this process excluded). */
export function hostProcessesWith(needle: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1").replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (cmdline.includes(needle)) found.push({ pid, cmdline: cmdline.trim() });
  }
  return found;
}

/** Counts host processes carrying `needle` every few ms while `work` runs; returns the peak. */
export async function watchPeak<T>(
  needle: string,
  work: Promise<T>,
  everyMs = 25,
): Promise<{ value: T; peak: number }> {
  let peak = 0;
  let done = false;
  const watcher = (async () => {
    while (!done) {
      peak = Math.max(peak, hostProcessesWith(needle).length);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  try {
    const value = await work;
    return { value, peak };
  } finally {
    done = true;
    await watcher;
  }
}

/**
 * Python that re-executes the program with `mark` in its argv before anything else, so the
 * program and every process it forks carry the marker in /proc/<pid>/cmdline.
 */
export function withMarkedArgv(mark: string, body: string): string {
  return [
    "import os, sys",
    `MARK = ${JSON.stringify(mark)}`,
    "if MARK not in sys.argv:",
    "    os.execv(sys.executable, [sys.executable, '-E', '-s', '-u', os.path.abspath(__file__), MARK])",
    body,
  ].join("\n");
}

/** Lines of `text` that start with `prefix`, prefix removed. */
export function linesWith(text: string, prefix: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

/** Field `name` of /proc/<pid>/status as the host sees it (its first value, for Uid and Gid). */
export function procStatus(pid: number, name: string): number {
  const match = new RegExp(`\\n${name}:\\s+(\\d+)`).exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return Number(match?.[1]);
}

/** The host uid of the process carrying `needle`, and of its parent (a zygote's run: the zygote). */
export function hostUids(needle: string): { uid: number; parentUid: number; parent: number } {
  const found = hostProcessesWith(needle);
  if (found.length !== 1) throw new Error(`${found.length} processes carry ${needle}`);
  const pid = found[0]!.pid;
  const parent = procStatus(pid, "PPid");
  return { uid: procStatus(pid, "Uid"), parent, parentUid: procStatus(parent, "Uid") };
}
