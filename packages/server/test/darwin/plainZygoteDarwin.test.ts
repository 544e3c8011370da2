/**
 * The zygote start-up path without the sandbox as macOS takes it, made on Linux: SIMULATED. The
 * zygote runs under simulated_darwin.py, where `sys.platform` is "darwin", so its runs take
 * macOS's path (no /proc/<pid>/fd to open their pipes through: named pipes in each run's working
 * directory; no prctl, capabilities, seccomp or subreaper), and the server has no cgroups, as on
 * macOS. The ordinary-program suite runs here, then checks of the path itself. What this cannot
 * show is in simulated_darwin.py.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hostProcessesWith, linesWith, run, sleepMarker } from "../hostile/helpers";
import { target } from "../hostile/mode";
import { openRun } from "../hostile/stream";
import { post } from "../support/http";

/** A server of its own (the built package) whose run sleeps, for the test that kills it. */
const SERVER_SCRIPT = fileURLToPath(new URL("serverWithASleeper.mjs", import.meta.url));

vi.mock("../../src/createHandler", async (importOriginal) =>
  (await import("../support/zygoteStartup")).zygoteOnly(await importOriginal(), {
    sandbox: "none",
    startup: "zygote",
    // macOS has none.
    cgroups: false,
    spawn: (await import("./underSimulatedDarwin.mjs")).spawnUnderSimulatedDarwin,
  }),
);

const linux = process.platform === "linux";
if (!linux)
  console.warn(`SKIPPED: the simulation of macOS runs on Linux, not ${process.platform}.`);

target.sandbox = "none";
target.reaper = false;
if (linux) await import("../programs.cases");
// Not the hostile suite: its cases check Linux's layers (seccomp, no_new_privs, /proc), which
// macOS has none of; what a run reaches there is in docs/security.md.

describe.skipIf(!linux)(
  "the zygote without the sandbox, as on macOS (simulated)",
  {
    timeout: 30_000,
  },
  () => {
    const handler = createHandler({ logger: false });
    afterAll(() => handler.close());

    it("forks each run, whose pipes the server opened by name, and whose names are gone", async () => {
      const code = [
        "import os, stat, sys",
        "print('PLATFORM', sys.platform)",
        "print('GROUP', os.getsid(0) == os.getpid() == os.getpgid(0))",
        "for fd in range(3):",
        "    print('FD', fd, stat.S_ISFIFO(os.fstat(fd).st_mode), os.readlink('/proc/self/fd/%d' % fd).rsplit('/', 1)[-1])",
        "print('LISTED', sorted(name for name in os.listdir('.') if name.startswith('.mecha')))",
        "print('ARGV', [a for a in open('/proc/self/cmdline').read().split('\\0') if a][2:])",
      ].join("\n");
      const results = await Promise.all([1, 2].map(() => run(handler, { code })));
      for (const result of results) {
        expect(result.status, result.stderr).toBe("succeeded");
        expect(linesWith(result.stdout, "PLATFORM ")).toEqual(["darwin"]);
        expect(linesWith(result.stdout, "GROUP ")).toEqual(["True"]);
        // 3 and 4 are the job's and the events' (closed before the program, or moved away).
        expect(linesWith(result.stdout, "FD ").slice(0, 3)).toEqual([
          "0 True .mecha-stdin (deleted)",
          "1 True .mecha-stdout (deleted)",
          "2 True .mecha-stderr (deleted)",
        ]);
        expect(linesWith(result.stdout, "LISTED ")).toEqual(["[]"]);
        expect(linesWith(result.stdout, "ARGV ")[0]).toMatch(/zygote\.py', '--plain'/);
      }
    });

    it("answers input() through the named pipes, and reports the run's memory in KiB", async () => {
      const stream = await openRun(handler, {
        code: "name = input('name? ')\nprint('hello', name)\nprint(len(bytearray(30 * 1024 * 1024)))",
      });
      await stream.until(() => stream.events.some((event) => event.type === "input"));
      expect((await stream.writeStdin("ada\n")).status).toBe(204);
      const result = await stream.finished();
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("name? hello ada\n31457280\n");
      // ru_maxrss is bytes on macOS: read as KiB, 30 MiB is at least 30720 KiB, not 1024 times it.
      expect(result.memoryKb).toBeGreaterThanOrEqual(30_720);
      expect(result.memoryKb).toBeLessThan(1 << 20);
    });

    it("keeps a session's state between its runs, its cells sent on the job's named pipe", async () => {
      const opened = await post(handler, "/sessions", { language: "python" });
      expect(opened.status).toBe(201);
      const { id } = (await opened.json()) as { id: string };
      const first = await (await post(handler, `/sessions/${id}/runs`, { code: "x = 41" })).json();
      expect(first.status, first.stderr).toBe("succeeded");
      const second = await (
        await post(handler, `/sessions/${id}/runs`, {
          code: "import sys\nprint(x + 1, sys.platform)",
        })
      ).json();
      expect(second.status, second.stderr).toBe("succeeded");
      expect(second.stdout).toBe("42 darwin\n");
      const closed = await handler(
        new Request(`http://localhost/sessions/${id}`, { method: "DELETE" }),
      );
      expect(closed.status).toBe(204);
    });

    it("ends a run's whole process group at its time limit", async () => {
      const mark = sleepMarker();
      const code = `import subprocess, time\nsubprocess.Popen(['sleep', '${mark}'])\ntime.sleep(300)`;
      const result = await run(handler, { code, limits: { timeoutMs: 1_000 } });
      expect(result.status).toBe("timed_out");
      await vi.waitFor(() => expect(hostProcessesWith(mark)).toEqual([]), { timeout: 5_000 });
    });
  },
);

describe.skipIf(!linux)("a server killed outright, as on macOS (simulated)", () => {
  it("takes its runs with it: the zygote, left without the server, ends them", {
    timeout: 30_000,
  }, async () => {
    // Without PR_SET_PDEATHSIG (Linux's), nothing kills the zygote or its runs with the
    // server: the zygote sees the server's end of its control pipe close, and ends every run.
    const mark = sleepMarker();
    const server = spawn(process.execPath, [SERVER_SCRIPT, mark], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const started = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out);
      });
      server.once("exit", (code) => reject(new Error(`the server exited (${code}): ${out}`)));
    });
    expect(started).toMatch(/^running \d+/);
    await vi.waitFor(() => expect(hostProcessesWith(mark)).toHaveLength(1), { timeout: 10_000 });
    server.kill("SIGKILL");
    await vi.waitFor(() => expect(hostProcessesWith(mark)).toEqual([]), { timeout: 10_000 });
    expect(
      hostProcessesWith("simulated_darwin.py").filter(({ cmdline }) => cmdline.includes(mark)),
    ).toEqual([]);
  });
});
