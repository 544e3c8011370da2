import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

/** What the playground's browser suites share: Chromium, free ports, and the running app. */

export const here = fileURLToPath(new URL("..", import.meta.url));

/** Debian's Chromium (browsers cannot be downloaded here), or undefined when it is missing. */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) =>
  existsSync(path),
);

/** Headless Chromium as root, with no background traffic to a network that is closed here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Builds the page once if it is not built yet. */
export function ensureBuilt(): void {
  if (!existsSync(`${here}/dist/index.html`)) execFileSync("pnpm", ["build"], { cwd: here });
}

/** A port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const children: ChildProcess[] = [];

/** Starts a Node process with piped output; `stopProcesses` ends every one started. */
export function startProcess(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return child;
}

/**
 * Asks every started process to stop and waits until each has (a server removes what it made
 * as it stops); kills any still running after 5 s.
 */
export async function stopProcesses(): Promise<void> {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** Waits for `pattern` in a process's output; rejects with that output if it exits first. */
export function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match) resolve(match);
    });
    child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`process exited (${code}):\n${text}`)));
  });
}

/** Starts the built playground on a free port; resolves with its URL once it listens. */
export async function startPlayground(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const playground = startProcess(["server.js"], here, { PORT: "0", ...env });
  return (await waitForOutput(playground, /playground on (http:\/\/\S+)/))[1]!;
}
