import { type ChildProcess, spawn } from "node:child_process";

/** A mecha-server process of a deployment on Redis. */
export interface MechaProcess {
  child: ChildProcess;
  /** Its URL, when it listens. */
  url: string | null;
  output(): string;
  /** SIGTERM (a runner drains), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: the machine went away. */
  kill(): Promise<void>;
}

/**
 * Starts the built CLI (`bin`) with `args` and resolves once it says it is ready: `listening on
 * <url>`, or `runner ready` for a runner without a port.
 */
export function startMecha(bin: string, args: string[]): Promise<MechaProcess> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (graceMs = 10_000) => {
    if (gone()) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (gone()) return;
    child.kill("SIGKILL");
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(text);
      if (listening || text.includes("runner ready")) {
        resolve({ child, url: listening?.[1] ?? null, output: () => text, stop, kill });
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    void exited.then(() => reject(new Error(`mecha-server exited before it was ready:\n${text}`)));
  });
}

/** Polls `check` every 50 ms until it returns a value (not undefined); rejects after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms: number,
  what: string,
): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
