/**
 * What a program can write or send past its stdout and stderr: the descriptor its events travel
 * on, forged events, and standard input it never reads. The server whose memory is measured is
 * mecha-server in a process of its own, as deployed. Every case holds on both start-up paths
 * (run by test/spawn.test.ts and test/zygote.test.ts), and without the sandbox
 * (test/plainZygote.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { findBwrap } from "../../src/runtime/sandbox";
import { remote, serveCli } from "./cliServer";
import { type Fetcher, run } from "./helpers";
import { MiB, peakRssGrowth } from "./memory";
import { openRun } from "./stream";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;

/** The descriptor the bootstrap sends its events on (see python/bootstrap.py). */
// The bootstrap's event channel, out of the way of the program's own descriptors (bootstrap.py).
const EVENT_FD = 1000;

/**
 * Writes `payload` to each of `fds` in a loop, ignoring errors, in the program and in `forks`
 * children of it; a sweep in which none took a byte writes to stdout instead, so the run ends at
 * its output limit whatever it holds open.
 */
function flood(fds: number[], payload: string, forks = 0): string {
  return [
    "import os",
    `for _ in range(${forks}):`,
    "    if os.fork() == 0:",
    "        break",
    `FDS = ${JSON.stringify(fds)}`,
    `CHUNK = ${payload}`,
    "while True:",
    "    wrote = False",
    "    for fd in FDS:",
    "        try:",
    "            os.write(fd, CHUNK)",
    "            wrote = True",
    "        except OSError:",
    "            pass",
    "    if not wrote:",
    "        os.write(1, CHUNK)",
  ].join("\n");
}

const MEBIBYTE = "b'A' * (1 << 20)";
const FLOODS = [
  // Every descriptor a program might hold, stdout and stderr included.
  flood([...Array.from({ length: 30 }, (_, i) => i + 1), EVENT_FD], MEBIBYTE),
  // The event channel: one line that never ends.
  flood([EVENT_FD], MEBIBYTE),
  // Every descriptor but stdout and stderr: what reaches the server only by a side door.
  flood([...Array.from({ length: 28 }, (_, i) => i + 3), EVENT_FD], MEBIBYTE),
  // The event channel: many small lines, each one parsed.
  flood([EVENT_FD], "b'{}\\n' * (1 << 18)"),
  // The event channel, from forked children too.
  flood([EVENT_FD], MEBIBYTE, 3),
];

export function plumbingCases(
  startup: "spawn" | "zygote",
  sandbox: "required" | "none" = "required",
): void {
  const title = `the plumbing around a run (${startup}${sandbox === "none" ? ", no sandbox" : ""})`;
  describe.skipIf(!hasBwrap && sandbox === "required")(title, { timeout: 60_000 }, () => {
    let server: Awaited<ReturnType<typeof serveCli>>;
    let remoteServer: Fetcher;
    let handler: MechaHandler;
    /** How far the server process's resident memory rises while `work` runs. */
    const serverGrowth = <T>(work: () => Promise<T>) => peakRssGrowth(server.child.pid!, work);

    beforeAll(async () => {
      server = await serveCli(startup, ["--max-concurrent", "8"], {}, sandbox);
      remoteServer = remote(server.url);
      handler = createHandler({
        sandbox,
        startup,
        logger: false,
        maxStdinBuffer: 500_000,
      });
      await handler.ready();
    }, 120_000);

    afterAll(() => Promise.all([server?.close(), handler?.close()]));

    it("descriptor floods end at the output limit and leave print(1) fast and the server small", async () => {
      const timeoutMs = 10_000;
      const floods: { status: string; durationMs: number; stderr: string }[] = [];
      const durations: number[] = [];
      const { growth } = await serverGrowth(async () => {
        // Every flood at once, and print(1) timed one after another from the same moment.
        const flooding = FLOODS.map(async (code) => {
          const { status, durationMs, stderr } = await run(remoteServer, {
            code,
            limits: { timeoutMs },
          });
          floods.push({ status, durationMs, stderr: stderr.slice(0, 300) });
        });
        try {
          for (let i = 0; i < 15; i++) {
            const started = performance.now();
            const result = await run(remoteServer, { code: "print(1)" });
            durations.push(performance.now() - started);
            expect(result.status, result.stderr).toBe("succeeded");
            expect(result.stdout).toBe("1\n");
          }
        } finally {
          await Promise.all(flooding);
        }
      });
      expect(floods).toHaveLength(FLOODS.length);
      for (const flood of floods) {
        expect(flood.status, flood.stderr).toBe("output_exceeded");
        expect(flood.durationMs).toBeLessThan(timeoutMs);
      }
      const p50 = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]!;
      // A server the floods stalled would take seconds; a cold interpreter per run on a loaded
      // machine takes up to a few hundred milliseconds.
      expect(p50, `print(1) took ${durations.map(Math.round).join(", ")} ms`).toBeLessThan(1_000);
      expect(growth / MiB).toBeLessThan(150);
    });

    it("50 MiB written to the event channel in one call, with no newline, is output_exceeded", async () => {
      const code = ["import os", `os.write(${EVENT_FD}, b'A' * (50 << 20))`, "print('wrote')"].join(
        "\n",
      );
      const { value: result, growth } = await serverGrowth(() =>
        run(remoteServer, { code, limits: { timeoutMs: 10_000 } }),
      );
      expect(result.status, result.stderr).toBe("output_exceeded");
      expect(result.stdout).not.toContain("wrote");
      expect(result.durationMs).toBeLessThan(10_000);
      expect(growth / MiB).toBeLessThan(100);
    });

    it("a forged exit event and error change nothing: the kernel's exit status and the real duration stand", async () => {
      const forgedExit = JSON.stringify({ type: "exited", status: 0 });
      const forgedError = JSON.stringify({
        type: "error",
        name: "Forged",
        message: "x",
        line: 1,
        traceback: "t",
      });
      // Python bytes literals of the two lines.
      const lines = `(${[forgedExit, forgedError].map((line) => `${JSON.stringify(`${line}\n`)}.encode()`).join(", ")})`;
      const forge = (tail: string[]) =>
        [
          "import os, time",
          `for line in ${lines}:`,
          `    os.write(${EVENT_FD}, line)`,
          "print('forged', flush=True)",
          "time.sleep(0.3)",
          ...tail,
        ].join("\n");

      const failed = await run(handler, { code: forge(["raise SystemExit(7)"]) });
      expect(failed.status, failed.stderr).toBe("failed");
      expect(failed.exitCode).toBe(7);
      expect(failed.signal).toBeNull();
      expect(failed.error).toBeUndefined();
      expect(failed.stdout).toBe("forged\n");
      expect(failed.durationMs).toBeGreaterThanOrEqual(300);

      const succeeded = await run(handler, { code: forge(["print('done')"]) });
      expect(succeeded.status, succeeded.stderr).toBe("succeeded");
      expect(succeeded.exitCode).toBe(0);
      expect(succeeded.error).toBeUndefined();
      expect(succeeded.stdout).toBe("forged\ndone\n");
      expect(succeeded.durationMs).toBeGreaterThanOrEqual(300);

      // A forked child that forges the end and exits ends nothing.
      const child = await run(handler, {
        code: [
          "import os, time",
          "pid = os.fork()",
          "if pid == 0:",
          `    for line in ${lines}:`,
          "        try:",
          `            os.write(${EVENT_FD}, line)`,
          "        except OSError:",
          "            pass",
          "    os._exit(0)",
          "os.waitpid(pid, 0)",
          "time.sleep(0.3)",
          "print('parent', flush=True)",
          "raise SystemExit(7)",
        ].join("\n"),
      });
      expect(child.status, child.stderr).toBe("failed");
      expect(child.exitCode).toBe(7);
      expect(child.error).toBeUndefined();
      expect(child.stdout).toBe("parent\n");
      expect(child.durationMs).toBeGreaterThanOrEqual(300);

      // A real uncaught exception is still described, whatever was forged before it.
      const raised = await run(handler, { code: forge(["raise ValueError('real')"]) });
      expect(raised.status).toBe("failed");
      expect(raised.exitCode).toBe(1);
      expect(raised.error?.type).toBe("ValueError");
      expect(raised.error?.message).toBe("real");
    });

    it("standard input a run does not read is capped: 413 stdin_too_large past the cap, the server unmoved", async () => {
      const idle = await openRun(remoteServer, {
        code: "import time\nprint('idle', flush=True)\ntime.sleep(60)",
        limits: { timeoutMs: 60_000 },
      });
      await idle.untilStdout("idle");
      const body = "x".repeat(2_000_000);
      const statuses: number[] = [];
      const problems: { code?: string; type: string | null }[] = [];
      const { growth } = await serverGrowth(async () => {
        // 300 MB in all.
        for (let i = 0; i < 150; i++) {
          const response = await idle.writeStdin(body);
          statuses.push(response.status);
          if (response.status === 204) continue;
          const problem = (await response.json()) as { code?: string };
          problems.push({ ...problem, type: response.headers.get("content-type") });
        }
      });
      expect(statuses[0]).toBe(204);
      // What a run may hold is about one post (2 MiB by default).
      expect(statuses.filter((status) => status === 204).length).toBeLessThanOrEqual(2);
      expect(statuses.slice(2).every((status) => status === 413)).toBe(true);
      expect(problems.length).toBeGreaterThanOrEqual(148);
      for (const problem of problems) {
        expect(problem.code).toBe("stdin_too_large");
        expect(problem.type).toContain("application/problem+json");
      }
      // Holding what it refuses would be 300 MB; V8 lets a heap this busy grow by about 100 MB
      // before it collects (103.5 MiB seen once on a loaded machine).
      expect(growth / MiB).toBeLessThan(150);
      expect((await idle.cancel()).status).toBe("cancelled");

      // The cap is on what is held, not on what a run receives: a reader takes far more.
      const part = 1_500_000;
      const reader = await openRun(remoteServer, {
        code: [
          "import sys, time",
          "total = 0",
          "print('ready', flush=True)",
          "while True:",
          "    data = sys.stdin.buffer.read1(1 << 16)",
          "    if not data:",
          "        break",
          "    total += len(data)",
          `    if total % ${part} == 0:`,
          "        print('got', total, flush=True)",
          "    time.sleep(0.001)",
          "print('total', total, flush=True)",
        ].join("\n"),
        limits: { timeoutMs: 60_000 },
      });
      await reader.untilStdout("ready");
      const parts = 6;
      for (let i = 1; i <= parts; i++) {
        const response = await reader.writeStdin("y".repeat(part), i === parts);
        expect(response.status, await response.text()).toBe(204);
        if (i < parts) await reader.untilStdout(`got ${i * part}\n`);
      }
      const result = await reader.finished();
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toContain(`total ${parts * part}\n`);
    });

    it("maxStdinBuffer sets the cap", async () => {
      const cap = 500_000;
      const idle = await openRun(handler, {
        code: "import time\nprint('idle', flush=True)\ntime.sleep(60)",
        limits: { timeoutMs: 60_000 },
      });
      await idle.untilStdout("idle");
      let accepted = 0;
      let refused: { code?: string; detail?: string } | null = null;
      // A pipe holds at most 1 MiB (Linux's default pipe-max-size) beyond what the server does.
      while (accepted <= cap + MiB) {
        const response = await idle.writeStdin("z".repeat(100_000));
        if (response.status !== 204) {
          expect(response.status).toBe(413);
          refused = (await response.json()) as { code?: string; detail?: string };
          break;
        }
        accepted += 100_000;
      }
      expect(refused?.code).toBe("stdin_too_large");
      expect(refused?.detail).toContain(String(cap));
      expect(accepted).toBeGreaterThan(0);
      expect((await idle.cancel()).status).toBe("cancelled");
    });
  });
}
