/**
 * The zygote start-up path (`startup: "zygote"`, the default) under the same gates as the spawn
 * path (test/spawn.test.ts): the whole hostile-program suite (with the plumbing around a run:
 * the cases in test/hostile/) and the CPython-equivalence suite run here with every handler they
 * create forking its runs from the zygote, plus checks of the zygote itself.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../src/createHandler";
import { parseProcCgroups } from "../src/runtime/cgroup";
import { findBwrap } from "../src/runtime/sandbox";
import { hostProcessesWith, linesWith, run, sleepMarker } from "./hostile/helpers";
import { sleeper } from "./hostile/programs";

vi.mock("../src/createHandler", async (importOriginal) =>
  (await import("./support/zygoteStartup")).zygoteOnly(await importOriginal()),
);

await import("./hostile.cases");
await import("./programs.cases");
await import("./accounting.cases");
await import("./cpython.cases");
(await import("./hostile/plumbing.cases")).plumbingCases("zygote");
(await import("./hostile/kernelShares.cases")).kernelShareCases("zygote");
(await import("./hostile/inheritedDescriptors.cases")).inheritedDescriptorCases("zygote");
(await import("./packages/everyday.cases")).everydayCases("zygote");
(await import("./packages/displays.cases")).displayCases("zygote");
(await import("./packages/environment.cases")).environmentCases("zygote");
(await import("./packages/files.cases")).fileCases("zygote");
(await import("./hostile/zygoteState.cases")).zygoteStateCases();
(await import("./sessions/sessions.cases")).sessionCases("zygote");

const hasBwrap = process.platform === "linux" && findBwrap() !== null;
const hasMatplotlib =
  spawnSync("/usr/bin/python3", ["-c", "import matplotlib"], { stdio: "ignore" }).status === 0;
const isRoot = process.getuid?.() === 0;
if (hasBwrap && !isRoot) {
  console.warn(
    "SKIPPED: the per-run host uid check of the zygote needs the server to run as root; " +
      "as another user every run has the zygote's uid, and that is what runs here.",
  );
}

const parentOf = (pid: number | string) =>
  /\nPPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

/**
 * Host pids of this process's zygote interpreters (their runs carry the same command line; the
 * zygotes of other servers on the host are left alone).
 */
function zygotes(): number[] {
  return hostProcessesWith("/opt/mecha/zygote.py")
    .filter(({ pid }) => {
      try {
        const parent = parentOf(pid);
        if (!parent || !/(^|\/)bwrap\0/.test(readFileSync(`/proc/${parent}/cmdline`, "latin1"))) {
          return false;
        }
        // bubblewrap's own parent is a bubblewrap this process started.
        const outer = parentOf(parent);
        return (
          outer !== undefined &&
          (outer === String(process.pid) || parentOf(outer) === String(process.pid))
        );
      } catch {
        return false;
      }
    })
    .map(({ pid }) => pid);
}

const cgroupsOf = (pid: number | "self") =>
  parseProcCgroups(readFileSync(`/proc/${pid}/cgroup`, "utf8"));

const LIMIT_FILES = {
  memory: "memory.limit_in_bytes",
  pids: "pids.max",
  cpuacct: "cpuacct.usage",
} as const;

describe.skipIf(!hasBwrap)("the zygote start-up path", { timeout: 30_000 }, () => {
  const handler = createHandler({ sandbox: "required", startup: "zygote", logger: false });
  afterAll(() => handler.close());

  it("forks runs from the zygote, isolated as the spawn path isolates them", async () => {
    const code = [
      "import os, sys",
      "print('ARGV0', [a for a in open('/proc/self/cmdline').read().split('\\0') if a][-1])",
      "print('IDS', os.getpid(), os.getppid(), os.getuid(), os.getgid())",
      "with open('/proc/self/status') as handle:",
      "    for line in handle:",
      "        if line.startswith(('NoNewPrivs', 'CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'Seccomp:')):",
      "            print('STATUS', line.strip().replace('\\t', ' '))",
      "print('HOST', os.uname().nodename)",
      "print('ENV', sorted(os.environ))",
    ].join("\n");
    const result = await run(handler, { code });
    expect(result.status, result.stderr).toBe("succeeded");
    expect(linesWith(result.stdout, "ARGV0 ")[0]).toBe("/opt/mecha/zygote.py");
    // pid 2 of its own pid namespace; its parent, the zygote, is outside it (as for a process
    // entered into a container).
    expect(linesWith(result.stdout, "IDS ")[0]).toBe("2 0 1000 1000");
    for (const name of ["CapEff", "CapPrm", "CapBnd", "CapAmb"]) {
      expect(result.stdout).toContain(`STATUS ${name}: 0000000000000000`);
    }
    expect(result.stdout).toContain("STATUS NoNewPrivs: 1");
    expect(result.stdout).toContain("STATUS Seccomp: 2");
    expect(result.stdout).toContain("HOST sandbox");
    // Threads of numerical libraries capped; matplotlib's configuration where it is installed.
    const names = ["HOME", "LANG", "LC_ALL", "MKL_NUM_THREADS", "MPLCONFIGDIR", "OMP_NUM_THREADS"];
    const env = [...names, "OPENBLAS_NUM_THREADS", "PATH", "PWD", "TMPDIR"].filter(
      (name) => name !== "MPLCONFIGDIR" || hasMatplotlib,
    );
    expect(linesWith(result.stdout, "ENV ")[0]).toBe(
      `[${env.map((name) => `'${name}'`).join(", ")}]`,
    );
    expect(result.cpuTimeMs).not.toBeNull();
  });

  it("mounts a run's file systems where the run holds no capability, and allows no user namespace below it", async () => {
    const code = [
      "import fcntl, os",
      "NS_GET_USERNS = 0xB701",
      "own = os.readlink('/proc/self/ns/user')",
      "for kind in ('mnt', 'uts', 'ipc', 'cgroup'):",
      "    ns = os.open('/proc/self/ns/' + kind, os.O_RDONLY)",
      "    try:",
      "        owner = os.readlink('/proc/self/fd/%d' % fcntl.ioctl(ns, NS_GET_USERNS))",
      "        print('OWNER', kind, 'run' if owner == own else 'below')",
      "    except PermissionError:",
      "        print('OWNER', kind, 'outside')  # an ancestor of the run's user namespace",
      "print('USERNS', open('/proc/sys/user/max_user_namespaces').read().strip())",
      "print('OWNERS', [os.stat(path).st_uid for path in ('/workspace', '/tmp', '/dev/shm')])",
    ].join("\n");
    const result = await run(handler, { code });
    expect(result.status, result.stderr).toBe("succeeded");
    // Owned by the zygote's user namespace: a capability in the run's own reaches none of them.
    expect(linesWith(result.stdout, "OWNER ")).toEqual([
      "mnt outside",
      "uts outside",
      "ipc outside",
      "cgroup outside",
    ]);
    expect(linesWith(result.stdout, "USERNS ")).toEqual(["0"]);
    expect(linesWith(result.stdout, "OWNERS ")).toEqual(["[1000, 1000, 1000]"]);
  });

  it("gives every run its own user namespace, so process caps count per run", async () => {
    const code = [
      "import os",
      "print('USERNS', os.readlink('/proc/self/ns/user'))",
      "print('PIDNS', os.readlink('/proc/self/ns/pid'))",
    ].join("\n");
    const [a, b] = await Promise.all([run(handler, { code }), run(handler, { code })]);
    expect(a!.status).toBe("succeeded");
    expect(b!.status).toBe("succeeded");
    expect(linesWith(a!.stdout, "USERNS ")[0]).not.toBe(linesWith(b!.stdout, "USERNS ")[0]);
    expect(linesWith(a!.stdout, "PIDNS ")[0]).not.toBe(linesWith(b!.stdout, "PIDNS ")[0]);
  });

  it.skipIf(!isRoot)(
    "gives every run a host uid of its own, not the zygote's, when the server is root",
    async () => {
      const marks = [sleepMarker(), sleepMarker(), sleepMarker()];
      const code = (mark: string) =>
        `${sleeper(mark)}\nimport os, time\nprint(os.getuid(), flush=True)\ntime.sleep(0.6)`;
      const running = Promise.all(marks.map((mark) => run(handler, { code: code(mark) })));
      const uidOf = (pid: number) =>
        Number(/\nUid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
      let hostUids: number[] = [];
      await vi.waitFor(
        () => {
          hostUids = marks.map((mark) => uidOf(hostProcessesWith(mark)[0]!.pid));
          expect(hostUids.every(Number.isFinite)).toBe(true);
        },
        { timeout: 5_000 },
      );
      const results = await running;
      for (const result of results) expect(result.stdout).toBe("1000\n");
      const zygoteUids = zygotes().map(uidOf);
      expect(new Set(hostUids).size).toBe(hostUids.length);
      for (const uid of hostUids) {
        expect(uid).toBeGreaterThanOrEqual(200_000);
        expect(zygoteUids).not.toContain(uid);
      }
    },
  );

  it("a program that writes into its pid 1's pipes fools no one but itself", async () => {
    const forged = JSON.stringify([0, 0, 0]).repeat(2000);
    const code = [
      "import os, signal",
      `FORGED = ${JSON.stringify(forged)}.encode()`,
      "try:",
      "    fds = os.listdir('/proc/1/fd')",
      "except OSError as error:",
      "    print('REFUSED', 'listing', error.errno, flush=True)",
      "    fds = []",
      "for fd in fds:",
      "    try:",
      "        out = os.open('/proc/1/fd/' + fd, os.O_WRONLY | os.O_NONBLOCK)",
      '        os.write(out, b\'\\n{"type": "exit", "id": "x"}\\n\' + FORGED)',
      "        print('WROTE', fd, flush=True)",
      "    except OSError as error:",
      "        print('REFUSED', fd, error.errno, flush=True)",
      "for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):",
      "    try:",
      "        os.kill(1, sig)",
      "    except PermissionError:",
      "        print('REFUSED', 'signal', sig, flush=True)",
      "print('ALIVE', flush=True)",
    ].join("\n");
    const before = zygotes();
    const [hostile, other] = await Promise.all([
      run(handler, { code }),
      run(handler, { code: "import time\ntime.sleep(0.3)\nprint('other')" }),
    ]);
    expect(hostile.stdout).toContain("ALIVE");
    expect(other.status).toBe("succeeded");
    expect(other.stdout).toBe("other\n");
    const after = await run(handler, { code: "print('after')" });
    expect(after.stdout).toBe("after\n");
    expect(zygotes()).toEqual(before);
  });

  it("keeps its init's memory, maps and descriptors (the zygote's own) from the program", async () => {
    const code = [
      "import os",
      "for path in ('/proc/1/mem', '/proc/1/maps', '/proc/1/environ', '/proc/1/fd/0', '/proc/1/fd/100'):",
      "    try:",
      "        with open(path, 'rb') as handle:",
      "            handle.read(1)",
      "        print('OPENED', path, flush=True)",
      "    except OSError as error:",
      "        print('REFUSED', path, error.errno, flush=True)",
    ].join("\n");
    const result = await run(handler, { code });
    expect(result.status, result.stderr).toBe("succeeded");
    expect(result.stdout).not.toContain("OPENED");
    expect(linesWith(result.stdout, "REFUSED ")).toHaveLength(5);
  });

  it("gives every run terminals of its own", async () => {
    const code = [
      "import os",
      "leader, follower = os.openpty()",
      "print('PTY', os.ttyname(follower), flush=True)",
      "import time",
      "time.sleep(0.5)",
      "print('SEEN', sorted(os.listdir('/dev/pts')))",
    ].join("\n");
    const results = await Promise.all([1, 2, 3].map(() => run(handler, { code })));
    for (const result of results) {
      expect(result.status, result.stderr).toBe("succeeded");
      expect(linesWith(result.stdout, "PTY ")[0]).toBe("/dev/pts/0");
      expect(linesWith(result.stdout, "SEEN ")[0]).toBe("['0', 'ptmx']");
    }
  });

  it("never lets two runs share a network, nor a later run find a socket an earlier one left", async () => {
    const name = `mecha-${Math.random().toString(36).slice(2)}`;
    const probe = [
      "import os, socket",
      "print('NETNS', os.readlink('/proc/self/ns/net'))",
      "client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
      "try:",
      `    client.connect(b'\\0${name}')`,
      "    print('REACHED', flush=True)",
      "except OSError as error:",
      "    print('UNREACHABLE', type(error).__name__, flush=True)",
    ].join("\n");
    // A listener kept alive only in flight: sent, with both ends of the pair carrying it, over
    // that pair, then every descriptor closed; the kernel frees it later, on its own schedule.
    const leaver = [
      "import array, os, socket, time",
      "print('NETNS', os.readlink('/proc/self/ns/net'))",
      "listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
      `listener.bind(b'\\0${name}')`,
      "listener.listen(64)",
      "a, b = socket.socketpair()",
      "fds = array.array('i', [listener.fileno(), a.fileno(), b.fileno()])",
      "a.sendmsg([b'x'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])",
      "print('LISTENING', flush=True)",
      "time.sleep(0.4)",
      "for sock in (listener, a, b):",
      "    sock.detach() and None",
      "os.close(fds[0]); os.close(fds[1]); os.close(fds[2])",
    ].join("\n");
    const [left, during] = await Promise.all([
      run(handler, { code: leaver }),
      new Promise((resolve) => setTimeout(resolve, 150)).then(() => run(handler, { code: probe })),
    ]);
    expect(left.stdout, left.stderr).toContain("LISTENING");
    expect(during.stdout).toContain("UNREACHABLE");
    expect(linesWith(during.stdout, "NETNS ")[0]).not.toBe(linesWith(left.stdout, "NETNS ")[0]);
    for (let i = 0; i < 6; i++) {
      const after = await run(handler, { code: probe });
      expect(after.status, after.stderr).toBe("succeeded");
      expect(after.stdout).toContain("UNREACHABLE");
    }
  });

  it("a program that says it has ended while its processes go on still meets its time limit", async () => {
    const sleep = sleepMarker();
    const code = [
      sleeper(sleep),
      "import os, time",
      `os.write(1000, b'{"type": "exited", "status": 0}\\n')`,
      "print('STILL HERE', flush=True)",
      "time.sleep(30)",
    ].join("\n");
    // Runs just before, one at a time: the run below has a cgroup an earlier run had, whose
    // process list was read less than a second ago.
    for (let i = 0; i < 20; i++) await run(handler, { code: "pass" });
    const begun = performance.now();
    const result = await run(handler, { code, limits: { timeoutMs: 1500 } });
    expect(result.status).toBe("timed_out");
    expect(performance.now() - begun).toBeGreaterThan(1400);
    expect(hostProcessesWith(sleep)).toEqual([]);
  });

  it("caps the files and hard links a run may make in each tmpfs", async () => {
    const code = [
      "import errno, os",
      "open('/tmp/f', 'w').close()",
      "made = 0",
      "try:",
      "    while made < 200_000:",
      "        os.link('/tmp/f', '/tmp/l%d' % made)",
      "        made += 1",
      "except OSError as error:",
      "    print('STOPPED', errno.errorcode[error.errno], flush=True)",
      "print('MADE', made)",
    ].join("\n");
    const result = await run(handler, { code, limits: { timeoutMs: 30_000 } });
    expect(result.status, result.stderr).toBe("succeeded");
    expect(result.stdout).toContain("STOPPED ENOSPC");
    const made = Number(linesWith(result.stdout, "MADE ")[0]);
    expect(made).toBeLessThanOrEqual(65_536);
    expect(made).toBeGreaterThan(60_000);
    const after = await run(handler, { code: "print('after')" });
    expect(after.stdout).toBe("after\n");
  });

  it("shares no random state between runs forked from the same zygote", async () => {
    const code =
      "import random, tempfile\nprint(random.random(), random.getrandbits(64), tempfile.mktemp())";
    const results = await Promise.all([1, 2, 3, 4].map(() => run(handler, { code })));
    const lines = results.map((result) => result.stdout);
    for (const result of results) expect(result.status, result.stderr).toBe("succeeded");
    expect(new Set(lines).size).toBe(lines.length);
  });

  it("puts each run in cgroups of its own, which the zygote's uid may join and nothing more", async (context) => {
    // cgroup v1 (one hierarchy per controller): a run moves itself into its cgroups, so the
    // zygote's uid owns their tasks files; cgroup v2 moves runs from the server.
    const own = cgroupsOf("self");
    if (!own.has("memory") || !existsSync("/sys/fs/cgroup/memory/cgroup.procs") || !isRoot) {
      console.warn("SKIPPED: runs join their cgroups themselves only under cgroup v1, as root.");
      context.skip();
    }
    const sleep = sleepMarker();
    const pending = run(handler, {
      code: `${sleeper(sleep)}\nimport time\ntime.sleep(30)`,
      // Long enough to find the run's process and read its cgroups before the run ends.
      limits: { timeoutMs: 6_000 },
    });
    await vi.waitFor(() => expect(hostProcessesWith(sleep)).toHaveLength(1), { timeout: 5_000 });
    const pid = hostProcessesWith(sleep)[0]?.pid ?? 0;
    const paths = cgroupsOf(pid);
    const zygoteUids = new Set(zygotes().map((zygote) => statSync(`/proc/${zygote}`).uid));
    const leaves = new Set<string>();
    for (const controller of ["memory", "pids", "cpuacct"] as const) {
      const path = paths.get(controller) ?? "";
      expect(path).toMatch(/\/mecha\/[\w-]+$/);
      expect(path).not.toBe(own.get(controller));
      leaves.add(path.split("/").pop() ?? "");
      const dir = join("/sys/fs/cgroup", controller, path);
      // The zygote's uid may move its own threads into the run's cgroup, and do nothing else:
      // not make cgroups below it, change its limits, or move processes anywhere else.
      expect(zygoteUids.has(statSync(join(dir, "tasks")).uid)).toBe(true);
      expect(statSync(join(dir, "cgroup.procs")).uid).toBe(0);
      expect(statSync(dir).uid).toBe(0);
      expect(statSync(join(dir, LIMIT_FILES[controller])).uid).toBe(0);
      expect(statSync(join(dir, "..", "cgroup.procs")).uid).toBe(0);
    }
    expect(leaves.size).toBe(1);
    expect((await pending).status).toBe("timed_out");
    expect(hostProcessesWith(sleep)).toEqual([]);
  });

  it("starts a new zygote when the current one dies, and ends runs it held", async () => {
    const sleep = sleepMarker();
    const before = zygotes();
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
    expect(zygotes().some((pid) => !before.includes(pid))).toBe(true);
  });

  it("ends a program with threads still running, or with its process limit used up, with its own status", async () => {
    // Its first process leaves its memory to a clone that dies with the run (see
    // exit_leaving_memory): a thread still running shares that memory; a full process limit
    // leaves no room for the clone, and the process then exits as any other.
    const threads = await run(handler, {
      code: [
        "import sys, threading, time",
        "threading.Thread(target=lambda: [time.sleep(0.001) for _ in iter(int, 1)], daemon=True).start()",
        "print('threads', threading.active_count())",
        "sys.exit(3)",
      ].join("\n"),
    });
    expect(threads.status, threads.stderr).toBe("failed");
    expect(threads.exitCode).toBe(3);
    expect(threads.stdout).toBe("threads 2\n");
    const sleep = sleepMarker();
    const full = await run(handler, {
      code: [
        "import os",
        "children = 0",
        "while True:",
        "    try:",
        "        pid = os.fork()",
        "    except OSError:",
        "        break",
        "    if pid == 0:",
        "        os.closerange(0, 1024)",
        `        os.execv('/bin/sleep', ['sleep', ${JSON.stringify(sleep)}])`,
        "    children += 1",
        "print('children', children > 0, flush=True)",
        "os._exit(4)",
      ].join("\n"),
    });
    expect(full.status, full.stderr).toBe("failed");
    expect(full.exitCode).toBe(4);
    expect(full.stdout).toBe("children True\n");
    expect(hostProcessesWith(sleep)).toEqual([]);
    // Only the first process leaves its memory so: its children that reach the program's end
    // (sys.exit, or its last line) end as under CPython, and wait() then finds none left.
    const forked = await run(handler, {
      code: [
        "import os, sys",
        "for i in range(3):",
        "    if os.fork() == 0:",
        "        sys.exit(i + 10) if i else None",
        "        break",
        "else:",
        "    codes = []",
        "    while True:",
        "        try:",
        "            codes.append(os.waitstatus_to_exitcode(os.wait()[1]))",
        "        except ChildProcessError:",
        "            break",
        "    print(sorted(codes))",
      ].join("\n"),
      limits: { timeoutMs: 5_000 },
    });
    expect(forked.status, forked.stderr).toBe("succeeded");
    expect(forked.stdout).toBe("[0, 11, 12]\n");
  });

  it("close() ends the zygote", async () => {
    const own = createHandler({ sandbox: "required", startup: "zygote", logger: false });
    const result = await run(own, {
      code: "print([a for a in open('/proc/self/cmdline').read().split('\\0') if a][-1])",
    });
    expect(result.stdout).toBe("/opt/mecha/zygote.py\n");
    const before = zygotes();
    await own.close();
    await vi.waitFor(() => expect(zygotes().length).toBeLessThan(before.length), {
      timeout: 5_000,
    });
  });
});

describe.skipIf(!hasBwrap)("cgroups kept for later runs", { timeout: 60_000 }, () => {
  const handler = createHandler({ sandbox: "required", logger: false });
  afterAll(() => handler.close());

  it("report none of an earlier run's memory, CPU time or OOM kill", async () => {
    const heavy = await run(handler, {
      code: [
        "import time",
        "x = bytearray(80 * 1024 * 1024)",
        "start = time.process_time()",
        "while time.process_time() - start < 0.3:",
        "    pass",
        "print('heavy')",
      ].join("\n"),
    });
    expect(heavy.status, heavy.stderr).toBe("succeeded");
    // Processes of 30 MiB each, together over the run's 64 MiB: the kernel kills one.
    const oom = await run(handler, {
      code: [
        "import os, time",
        "for _ in range(4):",
        "    if os.fork() == 0:",
        "        x = bytearray(30 * 1024 * 1024)",
        "        time.sleep(2)",
        "        os._exit(0)",
        "for _ in range(4):",
        "    os.wait()",
      ].join("\n"),
      limits: { memoryMb: 64 },
    });
    expect(oom.status).toBe("memory_exceeded");
    if (heavy.memoryKb !== null) expect(heavy.memoryKb).toBeGreaterThan(80 * 1024);
    if (heavy.cpuTimeMs !== null) expect(heavy.cpuTimeMs).toBeGreaterThan(300);
    // Each of these needs more memory than the OOM-killed run's limit: a kept cgroup must have
    // this run's limit (the default, 256 MiB), not an earlier run's.
    for (let i = 0; i < 20; i++) {
      const twoProcesses = await run(handler, {
        code: [
          "import os",
          "pid = os.fork()",
          "x = bytearray(50 * 1024 * 1024)",
          "if pid == 0:",
          "    os._exit(0)",
          "os.waitpid(pid, 0)",
          "print('two')",
        ].join("\n"),
      });
      expect(twoProcesses.status, twoProcesses.stderr).toBe("succeeded");
    }
    // More runs, one at a time, than cgroups are kept: each has a cgroup an earlier run had.
    for (let i = 0; i < 40; i++) {
      const light = await run(handler, { code: "print('light')" });
      expect(light.status, light.stderr).toBe("succeeded");
      expect(light.memoryKb ?? 0).toBeLessThan(16 * 1024);
      expect(light.cpuTimeMs ?? 0).toBeLessThan(150);
    }
  });
});
