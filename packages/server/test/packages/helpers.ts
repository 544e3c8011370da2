import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Display, RunEvent } from "@mecha/protocol";
import { findBwrap } from "../../src/runtime/sandbox";
import { type Fetcher, type RunBody, runRequest } from "../hostile/helpers";

export const PYTHON = "/usr/bin/python3";
export const hasBwrap = process.platform === "linux" && findBwrap() !== null;

/** Debian's numpy, pandas, matplotlib and PIL, which CI installs (`.ci/run`). */
export const hasPackages =
  spawnSync(PYTHON, ["-c", "import numpy, pandas, matplotlib, PIL"], { stdio: "ignore" }).status ===
  0;
if (!hasPackages) {
  console.warn(
    "SKIPPED: the package suites need Debian's python3-numpy, python3-pandas, python3-matplotlib " +
      "and python3-pil (apt-get install them, as .ci/run does).",
  );
}

export const PRELOAD = ["numpy", "pandas", "matplotlib"];

/** A program as Debian's python3 runs it directly (`python3 main.py` in a directory of its own). */
export function runDebian(code: string, files: { path: string; content: string }[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "mecha-ref-"));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(dir, file.path)), { recursive: true });
      writeFileSync(join(dir, file.path), file.content);
    }
    writeFileSync(join(dir, "main.py"), code);
    const out = spawnSync(PYTHON, ["-E", "-s", "-u", "main.py"], {
      cwd: dir,
      env: {
        PATH: "/usr/bin:/bin",
        LANG: "C.UTF-8",
        LC_ALL: "C.UTF-8",
        HOME: dir,
        MPLCONFIGDIR: join(dir, ".matplotlib"),
      },
      timeout: 60_000,
    });
    return {
      stdout: out.stdout.toString("utf8"),
      stderr: out.stderr.toString("utf8").split(`${dir}/`).join("<dir>/"),
      exitCode: out.status,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a run's stream carried, in order: text by stream, and displays. */
export type Item =
  | { kind: "stdout" | "stderr"; text: string }
  | { kind: "display"; display: Display };

/** Runs `body` streaming (NDJSON) and returns every event, each line checked to parse. */
export async function streamEvents(handler: Fetcher, body: RunBody & { returnFiles?: string[] }) {
  const response = await handler(runRequest(body, "application/x-ndjson"));
  if (response.status !== 200) throw new Error(`POST /runs answered ${response.status}`);
  const text = await response.text();
  const events = text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RunEvent & { seq: number });
  const items: Item[] = [];
  for (const event of events) {
    if (event.type === "stdout" || event.type === "stderr") {
      // Chunks of one stream in a row are one text (how a write was split is not the point).
      const last = items.at(-1);
      if (last?.kind === event.type) last.text += event.data;
      else items.push({ kind: event.type, text: event.data });
    } else if (event.type === "display") {
      items.push({ kind: "display", display: { data: event.data, metadata: event.metadata } });
    }
  }
  const last = events.at(-1);
  if (last?.type !== "exit") throw new Error(`the stream did not end with its result: ${text}`);
  return { events, items, result: last.result };
}

/** A PNG's signature and the size its IHDR chunk gives, or null when it is not one. */
export function pngSize(base64: string): { width: number; height: number } | null {
  const png = Buffer.from(base64, "base64");
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature) || png.toString("latin1", 12, 16) !== "IHDR") {
    return null;
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Decodes an image with PIL in a process of its own: its size and mode, or PIL's error. */
export function decodeWithPil(base64: string): string {
  const out = spawnSync(
    PYTHON,
    [
      "-c",
      "import sys, io\nfrom PIL import Image\nim = Image.open(io.BytesIO(sys.stdin.buffer.read()))\nim.load()\nprint(im.format, im.size, im.mode)",
    ],
    { input: Buffer.from(base64, "base64") },
  );
  return (out.stdout.toString() || out.stderr.toString()).trim();
}

export async function getJson(handler: Fetcher, path: string): Promise<unknown> {
  const response = await handler(new Request(`http://localhost${path}`));
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
  return response.json();
}
