import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The example as its users run it: `next build`, then `next start`, with real Python behind
 * /api/mecha and the page rendered on the server.
 */

const here = fileURLToPath(new URL("..", import.meta.url));
const NEXT_BIN = join(here, "node_modules/next/dist/bin/next");
const DIST = join(here, ".next");
const STAMP = join(DIST, "mecha-inputs.sha256");
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) =>
  existsSync(path),
);

const nextEnv = {
  ...process.env,
  NODE_ENV: "production",
  NEXT_TELEMETRY_DISABLED: "1",
} as NodeJS.ProcessEnv;

let server: ChildProcess | undefined;
let serverLog = "";
let base = "";

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** What the build output depends on: the app's own files and the packages bundled into it. */
function inputsHash(): string {
  const client = realpathSync(join(here, "node_modules/@mecha/client"));
  const files = [
    ...filesUnder(join(here, "app")),
    ...["next.config.ts", "package.json", "tsconfig.json"].map((name) => join(here, name)),
    join(here, "node_modules/next/package.json"),
    ...filesUnder(join(realpathSync(join(here, "node_modules/@mecha/react")), "dist")),
    ...filesUnder(join(client, "dist")),
    ...filesUnder(join(realpathSync(join(here, "node_modules/@mecha/server")), "dist")),
    ...filesUnder(join(realpathSync(join(client, "node_modules/@mecha/protocol")), "dist")),
  ];
  const hash = createHash("sha256");
  for (const file of files) hash.update(file).update("\0").update(readFileSync(file));
  return hash.digest("hex");
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NEXT_BIN, ...args], {
      cwd: here,
      env: nextEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`next ${args.join(" ")} failed (${code ?? signal}):\n${output}`)),
    );
  });
}

async function buildIfStale(): Promise<void> {
  const inputs = inputsHash();
  const built = existsSync(join(DIST, "BUILD_ID")) && existsSync(STAMP);
  if (built && readFileSync(STAMP, "utf8") === inputs) {
    console.log("next build: skipped, .next is up to date");
    return;
  }
  const started = performance.now();
  await run(["build"]);
  writeFileSync(STAMP, inputs);
  console.log(`next build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startServer(): Promise<void> {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [NEXT_BIN, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: here,
    env: nextEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (chunk: Buffer) => (serverLog += chunk));
  server.stderr!.on("data", (chunk: Buffer) => (serverLog += chunk));
  const exited = new Promise<never>((_, reject) =>
    server!.once("exit", (code, signal) =>
      reject(new Error(`next start exited (${code ?? signal}):\n${serverLog}`)),
    ),
  );
  exited.catch(() => {});
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ready = await Promise.race([
      fetch(`${base}/api/mecha/health`).then(
        (response) => response.ok,
        () => false,
      ),
      exited,
    ]);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`next start did not answer within 30 s:\n${serverLog}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every live process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function readEvents(response: Response): Promise<Array<Record<string, unknown>>> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const runRequest = (code: string, accept = "application/json") =>
  fetch(`${base}/api/mecha/runs`, {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify({ language: "python", code }),
  });

describe("Next.js example (next build + next start)", () => {
  beforeAll(async () => {
    await buildIfStale();
    await startServer();
  });

  afterAll(async () => {
    if (!server) return;
    const left = descendants(server.pid!);
    server.kill("SIGTERM");
    if (!(await waitForExit(server, 10_000))) server.kill("SIGKILL");
    for (const pid of left) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });

  it("mounts Mecha in a route of a few lines, as the server's README shows", () => {
    const route = readFileSync(join(here, "app/api/mecha/[...path]/route.ts"), "utf8");
    const code = route.split("\n").filter((line) => line.trim() && !line.trim().startsWith("//"));
    expect(code.length).toBeLessThanOrEqual(8);
    expect(route).toContain("createRouteHandlers");
  });

  it("answers GET /api/mecha/health with protocol 1 and a Python runtime", async () => {
    const response = await fetch(`${base}/api/mecha/health`);
    expect(response.status).toBe(200);
    const health = (await response.json()) as {
      status: string;
      protocol: number;
      runtimes: Array<{ language: string }>;
    };
    expect(health.protocol).toBe(1);
    expect(["ok", "degraded"]).toContain(health.status);
    expect(health.runtimes[0]?.language).toBe("python");
  });

  it("runs a program with POST /api/mecha/runs", async () => {
    const response = await runRequest("print(6*7)");
    expect(response.status).toBe(200);
    const result = (await response.json()) as { status: string; stdout: string; exitCode: number };
    expect(result).toMatchObject({ status: "succeeded", stdout: "42\n", exitCode: 0 });
  });

  it("streams a run as NDJSON: started, stdout, exit", async () => {
    const response = await runRequest(
      'import sys\nprint("out")\nprint("err", file=sys.stderr)',
      "application/x-ndjson",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const events = await readEvents(response);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe("started");
    expect(types).toContain("stdout");
    expect(types).toContain("stderr");
    expect(types.at(-1)).toBe("exit");
    const stdout = events
      .filter((event) => event.type === "stdout")
      .map((event) => event.data)
      .join("");
    expect(stdout).toBe("out\n");
    expect(events.at(-1)?.result).toMatchObject({ status: "succeeded", stderr: "err\n" });
  });

  it("server-renders the CodeRunner on GET /", async () => {
    const response = await fetch(base);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('role="group" aria-label="Code runner"');
    expect(html).toContain('aria-label="Program output"');
    // The editor shows the initial code as text until CodeMirror mounts.
    expect(html).toContain("print(&quot;6 * 7 =&quot;, 6 * 7)");
    expect(html).toContain("Checking server…");
  });

  it.skipIf(!CHROMIUM)("hydrates without warnings and runs the code in Chromium", async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning")
          problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
      await page.goto(base);
      await page.locator(".cm-content").waitFor({ timeout: 15_000 });
      const badge = page.getByRole("status", { name: "Backend" });
      await expect.poll(() => badge.textContent(), { timeout: 15_000 }).toBe("Runs on the server");
      await page.getByRole("button", { name: "Run" }).click();
      await expect
        .poll(() => page.getByRole("log").textContent(), { timeout: 15_000 })
        .toContain("6 * 7 = 42");
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("on SIGTERM ends running programs, exits, and leaves no processes", async () => {
    // A connection of its own (no keep-alive pool), so that the exit time is the server's.
    const lines: string[] = [];
    let buffered = "";
    let started!: () => void;
    const isStarted = new Promise<void>((resolve) => (started = resolve));
    const ended = new Promise<void>((resolve, reject) => {
      const request = httpRequest(`${base}/api/mecha/runs`, {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      });
      request.once("error", reject);
      request.once("response", (response) => {
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          buffered += chunk;
          const parts = buffered.split("\n");
          buffered = parts.pop()!;
          lines.push(...parts.filter((line) => line !== ""));
          if (lines.some((line) => line.includes('"stdout"'))) started();
        });
        response.once("end", resolve);
        response.once("error", reject);
      });
      request.end(
        JSON.stringify({
          language: "python",
          code: 'import time\nprint("waiting", flush=True)\ntime.sleep(60)',
        }),
      );
    });
    await isStarted;
    const running = descendants(server!.pid!);
    expect(running.length).toBeGreaterThan(0);

    const signalled = performance.now();
    server!.kill("SIGTERM");
    await ended;
    expect(await waitForExit(server!, 10_000)).toBe(true);
    const seconds = (performance.now() - signalled) / 1000;
    console.log(`next start exited ${seconds.toFixed(2)} s after SIGTERM`);
    expect(seconds).toBeLessThan(8);
    const last = JSON.parse(lines.at(-1)!) as { type: string };
    expect(last).toMatchObject({ type: "exit", result: { status: "cancelled" } });
    await expect.poll(() => running.filter(isAlive), { timeout: 5_000 }).toEqual([]);
  });
});
