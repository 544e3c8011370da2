import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/mecha-server.js", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let text = "";
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match) resolve({ child, url: match[1]!, output: () => text, exit });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    void exit.then((code) => reject(new Error(`exited with ${code} before listening:\n${text}`)));
  });
}

function runToEnd(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/** Processes whose command line contains `marker`, anywhere on the machine. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker))
        found.push(Number(entry));
    } catch {}
  }
  return found;
}

beforeAll(() => {
  if (!existsSync(DIST))
    execFileSync("pnpm", ["build"], { cwd: fileURLToPath(new URL("..", import.meta.url)) });
});

afterEach(async () => {
  // Asked to stop first, so that each server removes what it made (a SIGKILL leaves its state
  // directory behind); killed if it has not within a few seconds.
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
});

describe("mecha-server CLI", { timeout: 30_000 }, () => {
  it("prints its URL once listening, on a free port with --port 0, and answers the protocol", async () => {
    const server = await start(["--port", "0"]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.output()).toMatch(/isolation: (sandbox|process)/);
    // The default --help states.
    expect(server.output()).toContain(`${Math.max(4, 2 * availableParallelism())} concurrent runs`);
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({ status: "ok", protocol: 1 });
    const result = await (
      await fetch(`${server.url}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ language: "python", code: "print('from cli')" }),
      })
    ).json();
    expect(result.stdout).toBe("from cli\n");
  });

  it("says at start-up, without the sandbox, which layers hold and what a run can still reach", async () => {
    const server = await start(["--port", "0", "--sandbox", "none"]);
    await expect
      .poll(server.output)
      .toContain(
        "isolation: process (no sandbox: a run reaches the network, every world-readable file and every process of the host; do not run untrusted code)",
      );
    const output = server.output();
    expect(output).toContain("WARNING: no sandbox (sandbox: none). Each run is ");
    expect(output).toContain(
      "it can still reach the network, read every world-readable file and see every process on this host",
    );
    if (process.platform === "linux")
      expect(output).toContain("forked from a preloaded interpreter");
  });

  it("honours PORT from the environment", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = await start([], { PORT: String(port) });
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
  });

  it("says the port is in use and exits non-zero", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, output } = await runToEnd(["--port", String(port)]);
      expect(code).toBe(1);
      expect(output).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(output).not.toContain("listening on");
    } finally {
      blocker.close();
    }
  });

  it("rejects bad arguments with usage help and exit code 2", async () => {
    const bad = await runToEnd(["--sandbox", "maybe"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--sandbox must be auto, required or none");
    const unknown = await runToEnd(["--frobnicate"]);
    expect(unknown.code).toBe(2);
    const port = await runToEnd(["--port", "70000"]);
    expect(port.code).toBe(2);
  });

  it("refuses requests whose Host header is not a local name (DNS rebinding)", async () => {
    const server = await start(["--port", "0"]);
    const port = new URL(server.url).port;
    const ask = (host: string) =>
      new Promise<number>((resolve, reject) => {
        import("node:http").then(({ request }) => {
          const req = request(
            { host: "127.0.0.1", port, path: "/health", headers: { host } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on("error", reject);
          req.end();
        });
      });
    expect(await ask(`attacker.example:${port}`)).toBe(403);
    expect(await ask(`localhost:${port}`)).toBe(200);
    expect(await ask(`127.0.0.1:${port}`)).toBe(200);
  });

  it("allows local origins by CORS by default, and no others", async () => {
    const server = await start(["--port", "0"]);
    const preflight = (origin: string) =>
      fetch(`${server.url}/execute`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
    const local = await preflight("http://localhost:5173");
    expect(local.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const remote = await preflight("https://evil.example");
    expect(remote.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("requires the bearer token when one is set", async () => {
    const server = await start(["--port", "0", "--token", "letmein"]);
    expect((await fetch(`${server.url}/health`)).status).toBe(401);
    expect(
      (await fetch(`${server.url}/health`, { headers: { authorization: "Bearer letmein" } }))
        .status,
    ).toBe(200);
  });

  it("reads the token from --token-file, compares it whole, and takes it once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mecha-token-"));
    try {
      const file = join(dir, "token");
      writeFileSync(file, "s3cret-token\n");
      const server = await start(["--port", "0", "--token-file", file]);
      const health = (token?: string) =>
        fetch(`${server.url}/health`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      expect((await health()).status).toBe(401);
      expect((await health("s3cret-token-and-more")).status).toBe(401);
      expect((await health("s3cret")).status).toBe(401);
      expect((await health("s3cret-token")).status).toBe(200);
      const both = await runToEnd(["--token-file", file, "--token", "x"]);
      expect(both.code).toBe(2);
      expect(both.output).toContain("--token-file or --token, not both");
      const missing = await runToEnd(["--token-file", join(dir, "absent")]);
      expect(missing.code).toBe(2);
      expect(missing.output).toContain("cannot read --token-file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes limits and their maxima, refusing a default above its maximum", async () => {
    const above = await runToEnd(["--timeout", "90000"]);
    expect(above.code).toBe(2);
    expect(above.output).toContain("--timeout 90000 is above --max-timeout 60000");
    const size = await runToEnd(["--max-file-size", "lots"]);
    expect(size.code).toBe(2);
    expect(size.output).toContain("--max-file-size must be a size in bytes");
    const server = await start([
      "--port",
      "0",
      "--max-timeout",
      "300000",
      "--timeout",
      "120000",
      "--max-output-limit",
      "64M",
      "--memory",
      "300",
    ]);
    const response = await fetch(`${server.url}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        language: "python",
        code: "print('ok')",
        limits: { timeoutMs: 250_000, outputBytes: 50 << 20 },
      }),
    });
    const result = await response.json();
    expect(result.stdout).toBe("ok\n");
    expect(result.limits).toEqual({ timeoutMs: 250_000, memoryMb: 300, outputBytes: 50 << 20 });
  });

  it("shuts down cleanly on SIGTERM and SIGINT, leaving no program running", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const server = await start(["--port", "0"]);
      const marker = `${Math.floor(Math.random() * 1e6)}.25`;
      const pending = fetch(`${server.url}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          language: "python",
          code: `import subprocess\nsubprocess.Popen(["sleep", "${marker}"])\nimport time\ntime.sleep(60)`,
        }),
      }).then(
        (r) => r.json(),
        () => null,
      );
      const deadline = Date.now() + 5000;
      while (processesWith(marker).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(processesWith(marker).length).toBeGreaterThan(0);
      server.child.kill(signal);
      expect(await server.exit).toBe(0);
      expect(server.output()).toContain(`${signal} received`);
      expect(processesWith(marker)).toEqual([]);
      const result = await pending;
      if (result) expect(result.status).toBe("cancelled");
    }
  });

  it("leaves nothing in the temporary directory when it cannot start", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "mecha-cli-"));
    try {
      // No bubblewrap on this PATH, and the sandbox required: the start fails after the server
      // has made its state directory.
      const result = await runToEnd(["--sandbox", "required", "--port", "0"], {
        TMPDIR: tmp,
        PATH: "/nonexistent",
      });
      expect(result.code).toBe(1);
      expect(result.output).toContain("bubblewrap (bwrap) is not available");
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("refuses at start-up a module to preload that does not import, naming it", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "mecha-cli-"));
    // Where runs (other uids, when the server is root) can read the server's state directory.
    chmodSync(tmp, 0o755);
    try {
      const result = await runToEnd(["--preload", "json,no_such_module_mecha", "--port", "0"], {
        TMPDIR: tmp,
      });
      expect(result.code).toBe(1);
      expect(result.output).toMatch(
        /cannot preload no_such_module_mecha \(ModuleNotFoundError: No module named 'no_such_module_mecha'\)/,
      );
      expect(result.output).not.toContain("listening on");
      expect(readdirSync(tmp)).toEqual([]);
      const malformed = await runToEnd(["--preload", "numpy,pandas frame"]);
      expect(malformed.code).toBe(2);
      expect(malformed.output).toContain("--preload takes module names separated by commas");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("prints its version and help", async () => {
    const version = await runToEnd(["--version"]);
    expect(version.code).toBe(0);
    expect(version.output.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runToEnd(["--help"]);
    expect(help.output).toContain("--sandbox <mode>");
    expect(help.output).toMatch(
      /--max-concurrent <n> +Runs at once \(default: 2 × CPU cores, at least 4\)/,
    );
  });
});
