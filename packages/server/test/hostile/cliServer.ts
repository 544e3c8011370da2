import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "tsup";
import { rawText } from "../../../../scripts/rawTextPlugin";

const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));

/**
 * mecha-server built from this checkout's sources into a directory of its own (never `dist/`,
 * which other tests and builds share), laid out as the package is: `dist/` beside `python/`,
 * `package.json` and `node_modules/`. Returns the launcher to run with node, and a cleanup.
 */
export async function buildCli(): Promise<{ bin: string; remove(): void }> {
  const root = mkdtempSync(join(tmpdir(), "mecha-cli-"));
  for (const name of ["python", "package.json", "node_modules"]) {
    symlinkSync(join(PACKAGE, name), join(root, name));
  }
  await build({
    config: false,
    entry: { cli: join(PACKAGE, "src/cli.ts") },
    outDir: join(root, "dist"),
    format: ["esm"],
    outExtension: () => ({ js: ".mjs" }),
    platform: "node",
    target: "node20",
    splitting: false,
    dts: false,
    clean: false,
    silent: true,
    // The workspace's sources rather than its (possibly stale or missing) builds.
    noExternal: [/.*/],
    esbuildPlugins: [rawText],
    esbuildOptions(options) {
      options.conditions = ["@mecha/source"];
      options.banner = {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      };
    },
  });
  const bin = join(root, "mecha-server.mjs");
  writeFileSync(
    bin,
    'import { main } from "./dist/cli.mjs";\nprocess.exit(await main(process.argv.slice(2)));\n',
  );
  return { bin, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface CliServer {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Asks it to stop (SIGTERM, so that it removes what it made), killing it after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts the built CLI with `args`; `inherit` maps descriptor numbers the server is to inherit
 * (without close-on-exec, as a shell's `21<file` gives them) to descriptors of this process;
 * `env` adds to this process's environment.
 */
function startCli(
  bin: string,
  args: string[],
  inherit: Record<number, number> = {},
  env: Record<string, string> = {},
): Promise<CliServer> {
  const top = Math.max(2, ...Object.keys(inherit).map(Number));
  const stdio: ("ignore" | "pipe" | number)[] = Array.from({ length: top + 1 }, (_, fd) =>
    fd === 1 || fd === 2 ? "pipe" : "ignore",
  );
  for (const [fd, source] of Object.entries(inherit)) stdio[Number(fd)] = source;
  const child = spawn(process.execPath, [bin, ...args], {
    stdio,
    env: { ...process.env, ...env },
  });
  let text = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) resolve({ child, url: match[1]!, output: () => text, stop });
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    void exited.then(() => reject(new Error(`mecha-server exited before listening:\n${text}`)));
  });
}

/**
 * Builds mecha-server and starts it on a free port with `sandbox` (required unless said) and
 * `startup`, plus `args` (and `env`); `close()` stops it and removes the build.
 */
export async function serveCli(
  startup: "spawn" | "zygote",
  args: string[] = [],
  inherit: Record<number, number> = {},
  sandbox: "required" | "none" = "required",
  env: Record<string, string> = {},
): Promise<CliServer & { close(): Promise<void> }> {
  const cli = await buildCli();
  try {
    const base = ["--port", "0", "--sandbox", sandbox, "--startup", startup, "--quiet"];
    const server = await startCli(cli.bin, [...base, ...args], inherit, env);
    return {
      ...server,
      close: async () => {
        await server.stop();
        cli.remove();
      },
    };
  } catch (cause) {
    cli.remove();
    throw cause;
  }
}

/** A Fetch handler that forwards to the server at `url` (for the streaming helpers). */
export function remote(url: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const { pathname } = new URL(request.url);
    return fetch(`${url}${pathname}`, {
      method: request.method,
      headers: request.headers,
      body: request.method === "POST" ? await request.text() : undefined,
    });
  };
}
