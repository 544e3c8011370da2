/**
 * The zygote start-up path without the sandbox (`sandbox: "none"`, or no bubblewrap): each run
 * forked from a preloaded interpreter without namespaces (python/mecha_plain_runs.py). The
 * suites that apply run here, with every handler they create forking its runs so: ordinary
 * programs and the CPython-equivalence suite, accounting, the plumbing around a run, inherited
 * descriptors, and the hostile-program suite with each case that holds only in a sandbox left
 * out, saying why; then checks of this path itself.
 */
import { readFileSync, statfsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../src/createHandler";
import { hostProcessesWith, linesWith, run, sleepMarker, watchPeak } from "./hostile/helpers";
import { plainLayers, target } from "./hostile/mode";
import { bigAllocation, doubleForkDaemon, forkBomb, sleeper } from "./hostile/programs";
import { openRun, type RunStream } from "./hostile/stream";
import { post } from "./support/http";

vi.mock("../src/createHandler", async (importOriginal) =>
  (await import("./support/zygoteStartup")).zygoteOnly(await importOriginal(), {
    sandbox: "none",
    startup: "zygote",
  }),
);

const linux = process.platform === "linux";
/** statfs(2)'s type of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;
const { ownUid, cgroups } = plainLayers;
if (!linux) {
  console.warn(
    `SKIPPED: the server opens a forked run's pipes through /proc, which ${process.platform} does not have.`,
  );
}

target.sandbox = "none";
if (linux) {
  await import("./hostile.cases");
  await import("./programs.cases");
  await import("./accounting.cases");
  await import("./cpython.cases");
  (await import("./hostile/plumbing.cases")).plumbingCases("zygote", "none");
  if (ownUid) {
    (await import("./hostile/inheritedDescriptors.cases")).inheritedDescriptorCases(
      "zygote",
      "none",
    );
  } else {
    console.warn(
      "EXCLUDED without the sandbox: inherited descriptors: a run with the server's own uid " +
        "opens what the server holds through /proc/<pid>/fd.",
    );
  }
}

/** Host pids of this process's zygotes without namespaces (their runs share the command line). */
function plainZygotes(): number[] {
  return hostProcessesWith("zygote.py --plain")
    .filter(({ pid }) => {
      try {
        return (
          /\nPPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ===
          String(process.pid)
        );
      } catch {
        return false;
      }
    })
    .map(({ pid }) => pid);
}

describe.skipIf(!linux)("the zygote start-up path without the sandbox", { timeout: 30_000 }, () => {
  const handler = createHandler({ logger: false });
  afterAll(() => handler.close());

  it("forks each run into a process group, working directory and uid of its own", async () => {
    const health = await handler.health();
    expect(health.runtimes[0]?.isolation).toBe("process");
    const code = [
      "import os, sys",
      "print('ARGV', [a for a in open('/proc/self/cmdline').read().split('\\0') if a][2:4])",
      "print('GROUP', os.getsid(0) == os.getpid() == os.getpgid(0))",
      "print('PARENT', os.getppid())",
      "print('UID', os.getuid(), os.geteuid())",
      "print('CWD', os.getcwd())",
      "print('DIRS', os.environ['HOME'] == os.getcwd(), os.environ['TMPDIR'] == os.getcwd() + '.tmp')",
      "with open('/proc/self/status') as handle:",
      "    for line in handle:",
      "        if line.startswith(('NoNewPrivs', 'CapEff', 'CapBnd', 'Seccomp:')):",
      "            print('STATUS', line.strip().replace('\\t', ' '))",
      "import time",
      "time.sleep(0.3)",
    ].join("\n");
    const results = await Promise.all([1, 2, 3].map(() => run(handler, { code })));
    const parents = new Set<string>();
    const uids = new Set<string>();
    for (const result of results) {
      expect(result.status, result.stderr).toBe("succeeded");
      expect(linesWith(result.stdout, "ARGV ")[0]).toMatch(/zygote\.py', '--plain'\]$/);
      expect(linesWith(result.stdout, "GROUP ")).toEqual(["True"]);
      expect(linesWith(result.stdout, "DIRS ")).toEqual(["True True"]);
      expect(linesWith(result.stdout, "CWD ")[0]).toMatch(/\/mecha-\d+-\w+\/runs\/[\w-]+$/);
      expect(result.stdout).toContain("STATUS NoNewPrivs: 1");
      expect(result.stdout).toContain("STATUS CapEff: 0000000000000000");
      expect(result.stdout).toContain("STATUS CapBnd: 0000000000000000");
      expect(result.stdout).toContain("STATUS Seccomp: 2");
      parents.add(linesWith(result.stdout, "PARENT ")[0]!);
      uids.add(linesWith(result.stdout, "UID ")[0]!);
    }
    // One zygote forked them all; as root each had a uid of its own, never root.
    expect(parents.size).toBe(1);
    expect(plainZygotes().map(String)).toContain([...parents][0]);
    if (ownUid) {
      expect(uids.size).toBe(3);
      for (const uid of uids) expect(Number(uid.split(" ")[0])).toBeGreaterThanOrEqual(200_000);
      // A zygote running as root keeps CAP_KILL, CAP_SETGID, CAP_SETUID and CAP_SETPCAP only.
      const status = readFileSync(`/proc/${[...parents][0]}/status`, "utf8");
      for (const set of ["CapEff", "CapPrm", "CapBnd"]) {
        expect(status).toMatch(new RegExp(`\\n${set}:\\s+00000000000001e0\\n`));
      }
    }
  });

  it("makes each run's directories its own, and removes them once it has ended", async () => {
    const code = [
      "import os",
      "open('left.txt', 'w').write('x')",
      "open(os.path.join(os.environ['TMPDIR'], 'tmp.txt'), 'w').write('y')",
      "for path in (os.getcwd(), os.environ['TMPDIR']):",
      "    info = os.stat(path)",
      "    print('DIR', path, oct(info.st_mode & 0o777), info.st_uid == os.getuid())",
    ].join("\n");
    const result = await run(handler, { code });
    expect(result.status, result.stderr).toBe("succeeded");
    const dirs = linesWith(result.stdout, "DIR ");
    expect(dirs).toHaveLength(2);
    for (const line of dirs) expect(line).toMatch(/ 0o700 True$/);
    const paths = dirs.map((line) => line.split(" ")[0]!);
    // Listing the other runs' directories is not a run's to do (the parent is 0711); as root,
    // the parent is a tmpfs of the server's: runs' files take no disk, and are capped together.
    const runs = dirname(paths[0]!);
    expect(statSync(runs).mode & 0o777).toBe(0o711);
    if (ownUid) expect(statfsSync(runs).type).toBe(TMPFS_MAGIC);
    await vi.waitFor(
      () => {
        for (const path of paths) expect(() => statSync(path)).toThrow(/ENOENT/);
      },
      { timeout: 5_000 },
    );
  });

  it("leaves the host's network to the run, as documented", async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.end("hello");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const code = `import socket\ns = socket.create_connection(('127.0.0.1', ${port}), timeout=5)\nprint(s.recv(5))`;
      const result = await run(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("b'hello'\n");
      expect(connections).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.skipIf(!ownUid)("keeps one run's files from another run's uid", async () => {
    // Both runs stay alive until both have tried: a run's files are removed when it ends, and
    // then the other run would find nothing (ENOENT) rather than be refused.
    const code = [
      "import os, sys",
      "mine = [os.path.join(os.getcwd(), 'secret.txt'), os.path.join(os.environ['TMPDIR'], 'secret.txt')]",
      "for path in mine:",
      "    open(path, 'w').write('s3cret')",
      "print('MINE', *mine, flush=True)",
      "others = sys.stdin.readline().split()",
      "for path in others:",
      "    try:",
      "        print('READ', open(path).read())",
      "    except OSError as error:",
      "        print('REFUSED', error.errno)",
      "        if error.errno != 13:",
      "            for part in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):",
      "                try:",
      "                    os.stat(part)",
      "                    print('SEEN', part)",
      "                except OSError as missing:",
      "                    print('UNSEEN', part, missing.errno)",
      "print('TRIED', flush=True)",
      "sys.stdin.read()",
    ].join("\n");
    const a = await openRun(handler, { code, limits: { timeoutMs: 20_000 } });
    const b = await openRun(handler, { code, limits: { timeoutMs: 20_000 } });
    const mine = async (stream: RunStream) => {
      await stream.untilStdout("\n");
      return linesWith(stream.stdout, "MINE ")[0]!;
    };
    const [pathsA, pathsB] = [await mine(a), await mine(b)];
    await a.writeStdin(`${pathsB}\n`);
    await b.writeStdin(`${pathsA}\n`);
    await a.untilStdout("TRIED");
    await b.untilStdout("TRIED");
    await a.writeStdin("", true);
    await b.writeStdin("", true);
    for (const result of [await a.finished(), await b.finished()]) {
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).not.toContain("READ");
      expect(linesWith(result.stdout, "REFUSED "), result.stdout).toEqual(["13", "13"]);
    }
  });

  it("starts a new zygote when the current one dies, and ends runs it held", async () => {
    const sleep = sleepMarker();
    const before = plainZygotes();
    expect(before.length).toBeGreaterThan(0);
    const running = run(handler, {
      code: `${sleeper(sleep)}\nimport time\nprint('up', flush=True)\ntime.sleep(30)`,
      limits: { timeoutMs: 20_000 },
    });
    await vi.waitFor(() => expect(hostProcessesWith(sleep).length).toBeGreaterThan(0), {
      timeout: 5_000,
    });
    for (const pid of before) process.kill(pid, "SIGKILL");
    const result = await running;
    expect(result.status).not.toBe("succeeded");
    await vi.waitFor(() => expect(hostProcessesWith(sleep)).toEqual([]), { timeout: 5_000 });
    const after = await run(handler, { code: "print('again')" });
    expect(after.stdout).toBe("again\n");
    expect(plainZygotes().some((pid) => !before.includes(pid))).toBe(true);
  });

  it("close() ends the zygote", async () => {
    const own = createHandler({ logger: false });
    expect((await run(own, { code: "print('up')" })).stdout).toBe("up\n");
    const before = plainZygotes();
    await own.close();
    await vi.waitFor(() => expect(plainZygotes().length).toBeLessThan(before.length), {
      timeout: 5_000,
    });
  });

  it("keeps a session's state between its runs", async () => {
    const opened = await post(handler, "/sessions", { language: "python" });
    expect(opened.status).toBe(201);
    const { id } = (await opened.json()) as { id: string };
    const first = await (
      await post(handler, `/sessions/${id}/runs`, { code: "x = 41\nopen('f', 'w').write('kept')" })
    ).json();
    expect(first.status, first.stderr).toBe("succeeded");
    const second = await (
      await post(handler, `/sessions/${id}/runs`, { code: "print(x + 1, open('f').read())" })
    ).json();
    expect(second.status, second.stderr).toBe("succeeded");
    expect(second.stdout).toBe("42 kept\n");
    expect(second.session).toEqual({ id, state: "kept" });
    const closed = await handler(
      new Request(`http://localhost/sessions/${id}`, { method: "DELETE" }),
    );
    expect(closed.status).toBe(204);
  });
});

describe.skipIf(!linux || !ownUid)(
  "without the sandbox and without cgroups, as root",
  { timeout: 30_000 },
  () => {
    const handler = createHandler({ cgroups: false, logger: false });
    afterAll(() => handler.close());

    it("ends a process that left the run's process group, through the run's uid", async () => {
      const detached = sleepMarker();
      const result = await run(handler, { code: doubleForkDaemon(detached, true) });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("daemonized\n");
      expect(hostProcessesWith(detached)).toEqual([]);
    });

    it("answers each run once its uid has no process left, not at the sweep's deadline", async () => {
      // The sweep (up to 2 s) once ran to its deadline after every run: Linux answers kill(-1)
      // with success whenever the host has another process, so it never learnt that none of
      // the uid was left.
      // The first run starts the server's runtime; the three after it are timed.
      await run(handler, { code: "pass" });
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const result = await run(handler, { code: "print('hi')" });
        expect(result.stdout).toBe("hi\n");
        expect(performance.now() - started).toBeLessThan(1_500);
      }
    });

    it("caps a fork bomb at the run's process limit (RLIMIT_NPROC of its uid)", async () => {
      const mark = `mecha-plain-bomb-${Math.random().toString(36).slice(2)}`;
      const { value: result, peak } = await watchPeak(
        mark,
        run(handler, { code: forkBomb(mark), limits: { timeoutMs: 2_000 } }),
      );
      expect(["timed_out", "failed"]).toContain(result.status);
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(64);
      expect(hostProcessesWith(mark)).toEqual([]);
    });

    it("makes a memory bomb a memory_exceeded run (an address-space limit)", async () => {
      const sleep = sleepMarker();
      const result = await run(handler, { code: bigAllocation(sleep), limits: { memoryMb: 128 } });
      expect(result.status).toBe("memory_exceeded");
      expect(result.error?.type).toBe("MemoryError");
      expect(hostProcessesWith(sleep)).toEqual([]);
    });
  },
);

if (linux && !ownUid) {
  console.warn(
    "SKIPPED: without the sandbox and cgroups, a run's uid of its own (the sweep that ends what " +
      "left its process group, RLIMIT_NPROC) needs the server to run as root.",
  );
}
if (linux && !cgroups) {
  console.warn("NOTE: this host gives the server no cgroups: the suites above ran without them.");
}
