import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import { SECCOMP_X64_BASE64, SECCOMP_X64_HOST_NETWORK_BASE64 } from "../src/runtime/seccompX64";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

it("runs programs from a copy every run uid can read, not from the package's own directory", async () => {
  // The package may be installed where unprivileged run uids cannot go (under /root, or a
  // checkout in a 0700 directory): what a run executes must not live there.
  const handler = createHandler({ sandbox: "none", logger: false });
  try {
    const response = await handler(
      new Request("http://localhost/runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          language: "python",
          code: "print([a for a in open('/proc/self/cmdline').read().split('\\0') if a.endswith('.py')][-1])",
        }),
      }),
    );
    const result = await response.json();
    expect(result.status).toBe("succeeded");
    const bootstrap = result.stdout.trim();
    // The zygote that forked the run (or, were it spawned, the bootstrap).
    expect(bootstrap).toMatch(/(zygote|bootstrap)\.py$/);
    expect(bootstrap.startsWith(packageDir)).toBe(false);
    for (let dir = dirname(bootstrap); dir !== "/"; dir = dirname(dir)) {
      // Every directory on the way must be searchable by other users.
      expect({ dir, searchable: (statSync(dir).mode & 0o001) !== 0 }).toEqual({
        dir,
        searchable: true,
      });
    }
  } finally {
    await handler.close();
  }
});

it("ships the x64 seccomp filters that seccomp_filter.py writes (used where python3-seccomp is missing)", (context) => {
  const python = "/usr/bin/python3";
  const probe = spawnSync(python, ["-c", "import seccomp"]);
  if (process.arch !== "x64" || probe.status !== 0) {
    console.warn("SKIPPED: comparing the shipped filter needs x64 and Debian's python3-seccomp.");
    context.skip();
  }
  const dir = mkdtempSync(join(tmpdir(), "mecha-seccomp-"));
  try {
    const filters = [
      [[], SECCOMP_X64_BASE64],
      [["--host-network"], SECCOMP_X64_HOST_NETWORK_BASE64],
    ] as const;
    for (const [flags, base64] of filters) {
      const written = join(dir, "filter.bpf");
      const script = join(packageDir, "python", "seccomp_filter.py");
      const run = spawnSync(python, [script, ...flags, written]);
      expect(run.status, run.stderr.toString()).toBe(0);
      expect(readFileSync(written).equals(Buffer.from(base64, "base64")), flags.join()).toBe(true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
