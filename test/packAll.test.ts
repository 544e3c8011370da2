import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The new-user path for a server, as the server README writes it: `pnpm pack:all` in the clone,
 * the printed npm install line in a fresh project, then the README's Express snippet run as
 * written — it refuses callers without the token, runs code for those with it, and exits on
 * SIGTERM. Needs the packages built (`pnpm test` builds first) and the npm registry for express.
 */

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const built = ["protocol", "server"].every((name) =>
  existsSync(join(root, "packages", name, "dist")),
);
if (!built) console.warn("pack:all check: SKIPPED — packages not built (run pnpm build)");

const work = mkdtempSync(join(tmpdir(), "mecha-consumer-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** The first fenced block of `language` after `heading` in a markdown file. */
function snippet(file: string, heading: string, language: string): string {
  const text = readFileSync(join(root, file), "utf8");
  const after = text.slice(text.indexOf(heading));
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(after);
  if (!match) throw new Error(`no ${language} block under "${heading}" in ${file}`);
  return match[1]!;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe.skipIf(!built)("a new project installs Mecha from pnpm pack:all", () => {
  const consumer = join(work, "app");
  let installLine = "";

  beforeAll(async () => {
    const { stdout } = await run("node", ["scripts/pack-all.mjs", join(work, "packed")], {
      cwd: root,
    });
    installLine = /server \(Express[^:]*:\s+(npm install .*)/.exec(stdout)?.[1] ?? "";
    mkdirSync(consumer, { recursive: true });
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
  });

  it("prints one npm install line that installs the server with its sibling", async () => {
    expect(installLine).toMatch(/^npm install \S+mecha-protocol-[\d.]+\.tgz \S+mecha-server-/);
    const [, ...args] = installLine.split(" ");
    await run("npm", [...args, "express@5", "--no-audit", "--no-fund"], {
      cwd: consumer,
      maxBuffer: 16 << 20,
    });
    const installed = JSON.parse(
      readFileSync(join(consumer, "node_modules/@mecha/server/package.json"), "utf8"),
    );
    expect(installed.dependencies["@mecha/protocol"]).not.toMatch(/^workspace:/);
  });

  it("runs the README's Express snippet as written, and it stops on SIGTERM", async () => {
    writeFileSync(
      join(consumer, "server.mjs"),
      snippet("packages/server/README.md", "### Express 5", "js"),
    );
    const port = await freePort();
    const server = spawn("node", ["server.mjs"], {
      cwd: consumer,
      env: { ...process.env, PORT: String(port), MECHA_TOKEN: "s3cret" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(server);
    let output = "";
    server.stdout!.on("data", (chunk) => (output += chunk));
    server.stderr!.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => server.once("exit", resolve));

    const base = `http://127.0.0.1:${port}/api/mecha`;
    const auth = { authorization: "Bearer s3cret" };
    // Listening once it answers at all.
    await expect
      .poll(
        () =>
          fetch(`${base}/health`).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 20_000 },
      )
      .not.toBe(0);
    expect((await fetch(`${base}/health`)).status).toBe(401);
    expect((await fetch(`${base}/health`, { headers: auth })).status).toBe(200);
    const ran = await fetch(`${base}/runs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ language: "python", code: "print(6 * 7)" }),
    });
    expect(await ran.json()).toMatchObject({ status: "succeeded", stdout: "42\n" });

    server.kill("SIGTERM");
    expect(await exited, output).toBe(0);
  });
});
