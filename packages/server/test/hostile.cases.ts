import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunResult } from "@mecha/protocol";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { findBwrap } from "../src/runtime/sandbox";
import {
  hostProcessesWith,
  linesWith,
  marker,
  run,
  runRequest,
  sleepMarker,
  watchPeak,
  withMarkedArgv,
} from "./hostile/helpers";
import { casesWithout, plainLayers, sessionRules, target } from "./hostile/mode";
import {
  bigAllocation,
  cpuSpinner,
  diskFill,
  doubleForkDaemon,
  forkBomb,
  forkedAllocation,
  gradualAllocation,
  mixedOutputFlood,
  networkProbe,
  outputFlood,
  shellForkBomb,
  sleeper,
  termIgnorers,
} from "./hostile/programs";

const plain = target.sandbox === "none";
const hasBwrap = process.platform === "linux" && findBwrap() !== null;
if (!hasBwrap && !plain) {
  console.warn(
    "SKIPPED: the hostile-program suite (test/hostile.cases.ts, run by test/spawn.test.ts and test/zygote.test.ts) needs bubblewrap (bwrap) on a Linux " +
      `host, and ${process.platform === "linux" ? "bwrap is not on PATH" : `this is ${process.platform}`}. ` +
      "Install it (apt-get install bubblewrap) to run these containment checks.",
  );
}

const { ownUid, cgroups } = plainLayers;
const LEFT_GROUP =
  cgroups || ownUid
    ? null
    : "without cgroups or a uid of its own, a process that leaves its run's process group outlives the run";
const DISK =
  "without the sandbox a run writes in the host's /tmp and /dev/shm (and, where the server " +
  "may not mount a tmpfs for runs, in its own directories on the host's disk), each file " +
  "capped (RLIMIT_FSIZE), not their total";
const SIGNALS = ownUid
  ? null
  : "a run with the server's own uid may signal the server and every other run";
/**
 * The cases that do not hold without the sandbox on this host, by number, and why (null: it
 * does); they are left out, saying so, when the suite runs without it (see `casesWithout`).
 */
const it = casesWithout({
  1: ownUid
    ? null
    : "a run with the server's own uid reads the server's environment in /proc/<pid>/environ",
  2: "without the sandbox a run reads every world-readable file on the host",
  3: "without the sandbox a run has the host's network",
  "4a":
    cgroups || ownUid ? null : "without cgroups or a uid of its own nothing caps a run's processes",
  "4b":
    cgroups || ownUid ? null : "without cgroups or a uid of its own nothing caps a run's processes",
  "5c": cgroups
    ? null
    : "without cgroups memory is capped per process (RLIMIT_AS), not across a run's processes",
  "7a": DISK,
  "7b": DISK,
  8: LEFT_GROUP,
  9: "without the sandbox every process of the host, another run's included, is listed in /proc with its command line",
  10: "without the sandbox the host's /etc is the run's (its passwd too), and a symbolic link reaches what the run's uid may read",
  12: SIGNALS,
  13: LEFT_GROUP,
  14:
    ownUid && cgroups
      ? null
      : "the twenty need a uid of its own (one signals every process it may) and cgroups (memory across processes)",
  15: ownUid
    ? null
    : "without a uid of its own a run gets no RLIMIT_NPROC (it would count the server's processes)",
});

const MAX_PROCESSES = 64;
const SECRET = `s3cr3t-${randomBytes(12).toString("hex")}`;

describe.skipIf(!hasBwrap && !plain)(
  plain ? "hostile programs without the sandbox" : "hostile programs in the bubblewrap sandbox",
  { timeout: 30_000 },
  () => {
    let handler: MechaHandler;
    const isolation = plain ? "process" : "sandbox";

    beforeAll(async () => {
      process.env.MECHA_TEST_SECRET = SECRET;
      handler = createHandler({ sandbox: target.sandbox, logger: false, maxConcurrent: 20 });
      const health = await handler.health();
      expect(health.status).toBe("ok");
      expect(health.runtimes[0]?.isolation).toBe(isolation);
    });

    afterAll(async () => {
      await handler?.close();
      delete process.env.MECHA_TEST_SECRET;
    });

    /** The server answers, reports itself healthy, and still runs an ordinary program. */
    async function expectHealthy(): Promise<void> {
      const health = await handler.health();
      expect(health.status).toBe("ok");
      expect(health.runtimes[0]?.isolation).toBe(isolation);
      const result = await run(handler, { code: 'print("still fine", 6 * 7)' });
      expect(result.status).toBe("succeeded");
      expect(result.stdout).toBe("still fine 42\n");
    }

    function expectNoSurvivors(...markers: string[]): void {
      for (const needle of markers) expect(hostProcessesWith(needle), needle).toEqual([]);
    }

    function outputBytes(result: RunResult): number {
      return Buffer.byteLength(result.stdout) + Buffer.byteLength(result.stderr);
    }

    it("1. never shows the server's environment secrets", async () => {
      const sleep = sleepMarker();
      const code = [
        "import json, os",
        sleeper(sleep),
        "print('ENV', json.dumps(dict(os.environ)))",
        "environs = 0",
        "for entry in sorted(os.listdir('/proc')):",
        "    if not entry.isdigit() and entry not in ('self', 'thread-self'):",
        "        continue",
        "    try:",
        "        with open('/proc/%s/environ' % entry, 'rb') as handle:",
        "            data = handle.read()",
        "        environs += 1",
        "        print('ENVIRON', entry, data.replace(b'\\0', b' ').decode('latin1'))",
        "    except OSError as error:",
        "        print('NOENVIRON', entry, error.errno)",
        "files = 0",
        "for root, dirs, names in os.walk('/proc', followlinks=False):",
        "    for name in names:",
        "        path = os.path.join(root, name)",
        "        try:",
        "            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)",
        "        except OSError:",
        "            continue",
        "        try:",
        "            data = os.read(fd, 1 << 20)",
        "            files += 1",
        "        except OSError:",
        "            continue",
        "        finally:",
        "            os.close(fd)",
        "        for needle in (b'MECHA_TEST_SECRET', b's3cr3t-'):",
        "            at = data.find(needle)",
        "            if at >= 0:",
        "                print('HIT', path, data[max(0, at - 40):at + 80])",
        "print('READ', environs, files)",
      ].join("\n");
      const result = await run(handler, { code, limits: { timeoutMs: 20_000 } });
      expect(result.status, result.stderr).toBe("succeeded");
      const [environs, files] = (linesWith(result.stdout, "READ ")[0] ?? "0 0")
        .split(" ")
        .map(Number);
      expect(environs).toBeGreaterThanOrEqual(2);
      expect(files).toBeGreaterThan(100);
      const env = JSON.parse(linesWith(result.stdout, "ENV ")[0] ?? "{}") as Record<string, string>;
      expect(Object.keys(env)).not.toContain("MECHA_TEST_SECRET");
      expect(linesWith(result.stdout, "HIT ")).toEqual([]);
      expect(result.stdout).not.toContain(SECRET);
      expect(result.stderr).not.toContain(SECRET);
      expect(result.stdout).not.toContain("MECHA_TEST_SECRET");
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("2. cannot read /etc/shadow or the host application's files", async () => {
      const sleep = sleepMarker();
      const hostMark = marker("mecha-hostfile");
      const hostFile = join(tmpdir(), `${hostMark}.txt`);
      writeFileSync(hostFile, `host only ${hostMark}\n`);
      const serverCwd = process.cwd();
      try {
        const hostPaths = [
          "/etc/shadow",
          "/etc/gshadow",
          "/etc/sudoers",
          "/etc/hostname",
          "/root/.bashrc",
          "/root",
          "/work",
          "/work/main/package.json",
          join(serverCwd, "package.json"),
          serverCwd,
          hostFile,
          "/sys/fs/cgroup",
          "/run",
          "/var/run/docker.sock",
          "/home",
        ];
        const code = [
          "import json, os",
          sleeper(sleep),
          `HOST = json.loads(${JSON.stringify(JSON.stringify(hostPaths))})`,
          `SERVER = ${process.pid}`,
          "pids = sorted({int(p) for p in os.listdir('/proc') if p.isdigit()} | {os.getppid(), 1, SERVER})",
          "targets = list(HOST)",
          "for pid in pids:",
          "    for path in HOST:",
          "        targets.append('/proc/%d/root%s' % (pid, path))",
          "    targets += ['/proc/%d/cwd/package.json' % pid, '/proc/%d/cwd/../package.json' % pid,",
          "                '/proc/%d/cwd/../../package.json' % pid, '/proc/%d/cwd/pnpm-workspace.yaml' % pid]",
          "for path in targets:",
          "    try:",
          "        if os.path.isdir(path):",
          "            print('LISTED', path, os.listdir(path))",
          "        else:",
          "            with open(path, 'rb') as handle:",
          "                print('OPENED', path, handle.read(200))",
          "    except OSError as error:",
          "        print('DENIED', path, error.errno)",
          "for pid in pids:",
          "    try:",
          "        print('CWD', pid, os.readlink('/proc/%d/cwd' % pid), sorted(os.listdir('/proc/%d/cwd' % pid)))",
          "    except OSError as error:",
          "        print('CWD', pid, 'denied', error.errno)",
          "for fd in sorted(os.listdir('/proc/self/fd'), key=int):",
          "    try:",
          "        print('FD', fd, os.readlink('/proc/self/fd/' + fd))",
          "    except OSError:",
          "        pass",
          "print('DONE', len(targets))",
        ].join("\n");
        const result = await run(handler, { code });
        expect(result.status, result.stderr).toBe("succeeded");
        expect(result.stdout).toContain("DONE");
        expect(linesWith(result.stdout, "OPENED ")).toEqual([]);
        expect(linesWith(result.stdout, "LISTED ")).toEqual([]);
        // Inherited descriptors are pipes and the sandbox's own files, never a host file.
        const fds = linesWith(result.stdout, "FD ");
        expect(fds.length).toBeGreaterThanOrEqual(3);
        for (const line of fds) {
          expect(line, line).toMatch(
            /^\d+ (pipe:\[\d+\]|socket:\[\d+\]|anon_inode:.*|\/dev\/null|\/proc\/\d+\/fd)$/,
          );
        }
        expect(result.stdout).not.toContain(`host only ${hostMark}`);
        // The working directories the program can see are the sandbox's own, never the server's.
        for (const line of linesWith(result.stdout, "CWD ")) {
          expect(line).not.toContain(serverCwd);
          expect(line).not.toContain("pnpm-workspace.yaml");
        }
        const shadow = existsSync("/etc/shadow")
          ? readFileSync("/etc/shadow", "utf8").split("\n")[0]
          : "";
        if (shadow) expect(result.stdout).not.toContain(shadow);
        expectNoSurvivors(sleep);
      } finally {
        rmSync(hostFile, { force: true });
      }
      await expectHealthy();
    });

    it("3. reaches no network: TCP, UDP, DNS and host sockets all fail", async () => {
      const sleep = sleepMarker();
      let tcpConnections = 0;
      let abstractConnections = 0;
      let udpMessages = 0;
      const abstractName = marker("mecha-abstract");
      const unixPath = join(tmpdir(), `${marker("mecha-sock")}.sock`);
      const tcp = createServer((socket) => {
        tcpConnections++;
        socket.destroy();
      });
      const abstract = createServer((socket) => {
        abstractConnections++;
        socket.destroy();
      });
      const unixServer = createServer((socket) => {
        abstractConnections++;
        socket.destroy();
      });
      const udp = createSocket("udp4");
      udp.on("message", () => {
        udpMessages++;
      });
      const listen = (server: Server, target: object) =>
        new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(target, resolve);
        });
      await listen(tcp, { host: "127.0.0.1", port: 0 });
      await listen(abstract, { path: `\0${abstractName}` });
      await listen(unixServer, { path: unixPath });
      await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
      const tcpPort = (tcp.address() as { port: number }).port;
      const udpPort = udp.address().port;
      try {
        const code = `${sleeper(sleep)}\n${networkProbe(tcpPort, udpPort, abstractName, unixPath)}`;
        const result = await run(handler, { code, limits: { timeoutMs: 20_000 } });
        expect(result.status, result.stderr).toBe("succeeded");
        expect(result.stdout).toContain("DONE");
        expect(linesWith(result.stdout, "OK ")).toEqual([]);
        expect(linesWith(result.stdout, "BLOCKED ").length).toBe(13);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(tcpConnections).toBe(0);
        expect(udpMessages).toBe(0);
        expect(abstractConnections).toBe(0);
        // The listeners were real: the host itself reaches them.
        await new Promise<void>((resolve, reject) => {
          const socket = connect(tcpPort, "127.0.0.1");
          socket.once("connect", () => {
            socket.destroy();
            resolve();
          });
          socket.once("error", reject);
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(tcpConnections).toBe(1);
        expectNoSurvivors(sleep);
      } finally {
        await new Promise((resolve) => tcp.close(resolve));
        await new Promise((resolve) => abstract.close(resolve));
        await new Promise((resolve) => unixServer.close(resolve));
        udp.close();
        rmSync(unixPath, { force: true });
      }
      await expectHealthy();
    });

    it("4a. an os.fork() bomb is capped and ends with the run", async () => {
      const mark = marker("mecha-forkbomb");
      const { value: result, peak } = await watchPeak(
        mark,
        run(handler, { code: forkBomb(mark), limits: { timeoutMs: 2_000 } }),
      );
      expect(["timed_out", "failed"]).toContain(result.status);
      expect(result.stdout).toContain("bombing");
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(MAX_PROCESSES);
      expectNoSurvivors(mark);
      await expectHealthy();
    });

    it("4b. shell fork bombs (:(){ :|:& };:) are capped and end with the run", async () => {
      const mark = marker("mecha-shellbomb");
      const { value: result, peak } = await watchPeak(
        mark,
        run(handler, { code: shellForkBomb(mark), limits: { timeoutMs: 2_000 } }),
      );
      expect(["timed_out", "failed"]).toContain(result.status);
      expect(result.stdout).toContain("bombing");
      // Later shells may fail to start once the first bomb fills the run's process cap.
      expect(result.stdout.match(/could not start/g)?.length ?? 0).toBeLessThan(3);
      // A shell bomb can burn out between two samples (its shells exit once forks fail), so
      // only the cap is asserted here; 4a shows a bomb that keeps trying is seen and capped.
      expect(peak).toBeLessThanOrEqual(MAX_PROCESSES);
      expectNoSurvivors(mark);
      await expectHealthy();
    });

    it("5a. a 4 GiB allocation is a memory_exceeded run", async () => {
      const sleep = sleepMarker();
      const result = await run(handler, { code: bigAllocation(sleep), limits: { memoryMb: 128 } });
      expect(result.status).toBe("memory_exceeded");
      expect(result.stdout).not.toContain("allocated");
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("5b. a gradually growing list is a memory_exceeded run", async () => {
      const sleep = sleepMarker();
      const result = await run(handler, {
        code: gradualAllocation(sleep),
        limits: { memoryMb: 128, timeoutMs: 20_000 },
      });
      expect(result.status).toBe("memory_exceeded");
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("5c. forked children that together exceed the limit make a memory_exceeded run", async () => {
      const mark = marker("mecha-forkmem");
      const result = await run(handler, {
        code: forkedAllocation(mark),
        limits: { memoryMb: 128, timeoutMs: 10_000 },
      });
      expect(result.status).toBe("memory_exceeded");
      if (result.memoryKb !== null) expect(result.memoryKb).toBeLessThanOrEqual(128 * 1024 + 1024);
      expectNoSurvivors(mark);
      await expectHealthy();
    });

    it("6. an output flood ends as output_exceeded at the cap", async () => {
      const sleep = sleepMarker();
      const cap = 64 * 1024;
      const result = await run(handler, { code: outputFlood(sleep), limits: { outputBytes: cap } });
      expect(result.status).toBe("output_exceeded");
      expect(result.truncated).toBe(true);
      expect(outputBytes(result)).toBeLessThanOrEqual(cap);
      expect(result.stdout.length).toBeGreaterThan(0);
      expectNoSurvivors(sleep);

      const mark = marker("mecha-flood");
      const mixed = await run(handler, {
        code: mixedOutputFlood(mark),
        limits: { outputBytes: cap },
      });
      expect(mixed.status).toBe("output_exceeded");
      expect(mixed.truncated).toBe(true);
      expect(outputBytes(mixed)).toBeLessThanOrEqual(cap);
      expectNoSurvivors(mark);
      await expectHealthy();
    });

    it("7a. filling the disk stops at the file-size and tmpfs caps, off the host's disk", async () => {
      const mark = marker("mecha-diskfill");
      const sleep = sleepMarker();
      const hostTmp = tmpdir();
      const free = (path: string) => {
        const stats = statfsSync(path);
        return stats.bavail * stats.bsize;
      };
      const before = { tmp: free(hostTmp), root: free("/") };
      let lowest = { ...before };
      const { value: result } = await watchPeak(
        sleep,
        (async () => {
          const work = run(handler, { code: diskFill(mark, sleep), limits: { timeoutMs: 20_000 } });
          let finished = false;
          void work.finally(() => {
            finished = true;
          });
          while (!finished) {
            lowest = {
              tmp: Math.min(lowest.tmp, free(hostTmp)),
              root: Math.min(lowest.root, free("/")),
            };
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return work;
        })(),
      );
      expect(result.status, result.stderr).toBe("succeeded");
      const huge = linesWith(result.stdout, "HUGE ");
      const fill = linesWith(result.stdout, "FILL ");
      expect(huge).toHaveLength(2);
      expect(fill).toHaveLength(2);
      for (const line of huge) {
        const [, size, error] = line.split(" ");
        expect(error).toBe("EFBIG");
        expect(Number(size)).toBeLessThanOrEqual(10 << 20);
      }
      for (const line of fill) {
        const [, total, error] = line.split(" ");
        expect(["ENOSPC", "EFBIG"]).toContain(error);
        expect(Number(total)).toBeLessThanOrEqual(64 << 20);
      }
      // Over 100 MiB went into the sandbox's tmpfs; the host's disk never lost them (the margin
      // leaves room for whatever else the host writes meanwhile).
      const written = [...huge, ...fill].reduce((sum, line) => sum + Number(line.split(" ")[1]), 0);
      expect(written).toBeGreaterThan(100 << 20);
      expect(before.tmp - lowest.tmp).toBeLessThan(written / 2);
      expect(before.root - lowest.root).toBeLessThan(written / 2);
      const leaked: string[] = [];
      const scan = (dir: string, depth: number) => {
        let entries: string[];
        try {
          entries = readdirSync(dir);
        } catch {
          return;
        }
        for (const entry of entries) {
          if (entry.includes(mark)) leaked.push(join(dir, entry));
          if (depth > 0) scan(join(dir, entry), depth - 1);
        }
      };
      scan(hostTmp, 3);
      expect(leaked).toEqual([]);
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("7b. the sandbox's root, /etc and /dev take no writes beyond the disk cap", async () => {
      const sleep = sleepMarker();
      const cap = 64 << 20;
      const code = [
        "import errno, os",
        sleeper(sleep),
        "chunk = b'\\x00' * (1 << 20)",
        "for where in ('/', '/etc', '/dev', '/dev/shm', '/opt', '/usr'):",
        "    total, index, error, made = 0, 0, None, []",
        "    while error is None and total < (160 << 20):",
        "        path = os.path.join(where, 'mecha-fill-%d.bin' % index)",
        "        try:",
        "            with open(path, 'wb', buffering=0) as handle:",
        "                made.append(path)",
        "                for _ in range(8):",
        "                    total += handle.write(chunk)",
        "        except OSError as error_:",
        "            error = errno.errorcode.get(error_.errno, str(error_.errno))",
        "        index += 1",
        "    print('FILL', where, total, error, flush=True)",
        "    for path in made:",
        "        os.unlink(path)",
        "print('DONE')",
      ].join("\n");
      const result = await run(handler, { code, limits: { timeoutMs: 20_000, memoryMb: 512 } });
      expect(result.status, result.stderr).toBe("succeeded");
      const fills = linesWith(result.stdout, "FILL ");
      expect(fills).toHaveLength(6);
      for (const line of fills) {
        const [, total, error] = line.split(" ");
        expect(Number(total), `wrote ${line}`).toBeLessThanOrEqual(cap);
        expect(["ENOSPC", "EROFS", "EACCES", "EPERM", "ENOENT"], line).toContain(error);
      }
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("8. a double-forked daemon does not outlive its run", async () => {
      // Its stdio closed, the daemon is ended with the run as soon as the program has ended.
      const detached = sleepMarker();
      const result = await run(handler, { code: doubleForkDaemon(detached, true) });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("daemonized\n");
      expect(result.durationMs).toBeLessThan(5_000);
      expectNoSurvivors(detached);
      // Still holding the program's output, it is part of the run, which then ends at its limit.
      const attached = sleepMarker();
      const held = await run(handler, {
        code: doubleForkDaemon(attached, false),
        limits: { timeoutMs: 1_000 },
      });
      expect(held.status, held.stderr).toBe(
        sessionRules.heldOutputEndsRun() ? "timed_out" : "succeeded",
      );
      expect(held.stdout).toBe("daemonized\n");
      expectNoSurvivors(attached);
      await expectHealthy();
    });

    it("9. one run sees nothing of another run's files or processes", async () => {
      const markA = marker("mecha-runa");
      const secretA = `${randomBytes(16).toString("hex")}-payload`;
      const codeA = withMarkedArgv(
        markA,
        [
          "import time",
          `SECRET = ${JSON.stringify(secretA)}`,
          "for where in (os.getcwd(), '/tmp'):",
          "    with open(os.path.join(where, MARK + '.secret'), 'w') as handle:",
          "        handle.write(SECRET)",
          "print('ready', flush=True)",
          "while True:",
          "    time.sleep(1)",
        ].join("\n"),
      );
      const response = await handler(
        runRequest({ code: codeA, limits: { timeoutMs: 25_000 } }, "application/x-ndjson"),
      );
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      let runId = "";
      let stdoutA = "";
      let resultA: RunResult | null = null;
      const readUntil = async (done: () => boolean) => {
        while (!done()) {
          const { value, done: ended } = await reader.read();
          if (ended) break;
          buffered += decoder.decode(value, { stream: true });
          let newline = buffered.indexOf("\n");
          while (newline >= 0) {
            const event = JSON.parse(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf("\n");
            if (event.type === "started") runId = event.id;
            if (event.type === "stdout") stdoutA += event.data;
            if (event.type === "exit") resultA = event.result;
          }
        }
      };
      await readUntil(() => stdoutA.includes("ready") || resultA !== null);
      expect(resultA).toBeNull();
      expect(hostProcessesWith(markA).length).toBeGreaterThan(0);

      const codeB = [
        "import os",
        "print('PIDS', sorted(p for p in os.listdir('/proc') if p.isdigit()))",
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:",
        "    for part in ('cmdline', 'environ'):",
        "        try:",
        "            with open('/proc/%s/%s' % (pid, part), 'rb') as handle:",
        "                print('PROC', pid, part, handle.read().replace(b'\\0', b' ').decode('latin1'))",
        "        except OSError as error:",
        "            print('PROC', pid, part, 'denied', error.errno)",
        "alive = []",
        "for pid in range(1, 32768):",
        "    try:",
        "        os.kill(pid, 0)",
        "        alive.append(pid)",
        "    except ProcessLookupError:",
        "        pass",
        "    except PermissionError:",
        "        alive.append(pid)",
        "print('SIGNALABLE', alive)",
        "for where in (os.getcwd(), '/tmp'):",
        "    print('LIST', where, os.listdir(where))",
        "for root, dirs, names in os.walk('/'):",
        "    if root == '/':",
        "        dirs[:] = [d for d in dirs if d != 'proc']",
        "    for name in names + dirs:",
        "        if 'mecha-runa' in name or name.endswith('.secret'):",
        "            print('FOUND', os.path.join(root, name))",
        "        if root.startswith(('/tmp', '/workspace')) and name in names:",
        "            try:",
        "                with open(os.path.join(root, name), 'rb') as handle:",
        "                    print('CONTENT', os.path.join(root, name), handle.read(200))",
        "            except OSError:",
        "                pass",
        "print('DONE')",
      ].join("\n");
      const resultB = await run(handler, { code: codeB, limits: { timeoutMs: 20_000 } });
      expect(resultB.status, resultB.stderr).toBe("succeeded");
      expect(resultB.stdout).toContain("DONE");
      expect(resultB.stdout).not.toContain(markA);
      expect(resultB.stdout).not.toContain(secretA);
      expect(linesWith(resultB.stdout, "FOUND ")).toEqual([]);
      const signalable = JSON.parse(
        linesWith(resultB.stdout, "SIGNALABLE ")[0] ?? "[]",
      ) as number[];
      expect(signalable.length).toBeLessThanOrEqual(3);

      const cancel = await handler(
        new Request(`http://localhost/runs/${runId}/cancel`, { method: "POST" }),
      );
      expect(cancel.status).toBe(202);
      await readUntil(() => resultA !== null);
      expect((resultA as RunResult | null)?.status).toBe("cancelled");
      expectNoSurvivors(markA);
      await expectHealthy();
    });

    it("10. symlinks and file paths cannot reach outside the sandbox", async () => {
      const hostPasswd = readFileSync("/etc/passwd", "utf8");
      const sleep = sleepMarker();
      const code = [
        "import os",
        sleeper(sleep),
        "links = {",
        "    'shadow': '/etc/shadow',",
        "    'proc-root': '/proc/1/root/etc/shadow',",
        "    'proc-root-app': '/proc/1/root/work/main/package.json',",
        "    'self-root': '/proc/self/root/../../../etc/shadow',",
        "    'dotdot': '../../../../../../../etc/shadow',",
        "    'root-bashrc': '/root/.bashrc',",
        "    'ppid-cwd': '/proc/%d/cwd/../../package.json' % os.getppid(),",
        "}",
        "for name, target in links.items():",
        "    os.symlink(target, name)",
        "    try:",
        "        with open(name, 'rb') as handle:",
        "            print('OPENED', name, handle.read(200))",
        "    except OSError as error:",
        "        print('DENIED', name, error.errno)",
        "for source in ('/etc/passwd', '/usr/bin/python3'):",
        "    try:",
        "        os.link(source, 'hard-' + os.path.basename(source))",
        "        print('LINKED', source)",
        "    except OSError as error:",
        "        print('NOLINK', source, error.errno)",
        "with open('/etc/passwd') as handle:",
        "    print('PASSWD', handle.read().replace('\\n', '|'))",
        "print('DONE')",
      ].join("\n");
      const result = await run(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toContain("DONE");
      expect(linesWith(result.stdout, "OPENED ")).toEqual([]);
      expect(linesWith(result.stdout, "LINKED ")).toEqual([]);
      expect(linesWith(result.stdout, "DENIED ")).toHaveLength(7);
      // The sandbox's /etc/passwd is its own: root, the run's user and nobody, no host account.
      expect(linesWith(result.stdout, "PASSWD ")).toEqual([
        "root:x:0:0:root:/root:/usr/sbin/nologin|sandbox:x:1000:1000:sandbox:/workspace:/usr/sbin/nologin|nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin|",
      ]);
      expectNoSurvivors(sleep);

      for (const path of [
        "../../etc/passwd",
        "/etc/passwd",
        "a/../../etc/passwd",
        "..\\..\\etc\\passwd",
        "..",
      ]) {
        const response = await handler(
          runRequest({
            code: "print('ran')",
            files: [{ path, content: "mecha:x:0:0::/:/bin/sh\n" }],
          }),
        );
        if (response.status === 200) {
          // Accepted: then the write must have stayed inside the working directory.
          const outcome = (await response.json()) as RunResult;
          expect(outcome.status, path).not.toBe("succeeded");
        } else {
          expect(response.status, path).toBe(400);
          await response.body?.cancel();
        }
      }
      const nested = await run(handler, {
        code: "print(open('dir/ok.txt').read())",
        files: [{ path: "dir/ok.txt", content: "inside" }],
      });
      expect(nested.stdout).toBe("inside\n");
      expect(readFileSync("/etc/passwd", "utf8")).toBe(hostPasswd);
      await expectHealthy();
    });

    it("11. setuid binaries, su, sudo and mount never give uid 0", async () => {
      const sleep = sleepMarker();
      const code = [
        "import os, stat, subprocess",
        sleeper(sleep),
        "setuid = []",
        "for d in ('/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/lib/dbus-1.0', '/usr/lib/openssh'):",
        "    try:",
        "        names = os.listdir(d)",
        "    except OSError:",
        "        continue",
        "    for name in names:",
        "        path = os.path.join(d, name)",
        "        try:",
        "            mode = os.stat(path).st_mode",
        "        except OSError:",
        "            continue",
        "        if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):",
        "            if os.path.realpath(path) not in map(os.path.realpath, setuid):",
        "                setuid.append(path)",
        "print('SETUID', len(setuid), setuid)",
        "probe = \"import os; print('EUID', os.geteuid(), os.getegid())\"",
        "commands = [",
        "    ['su', '-c', 'id -u'], ['su', 'root', '-c', 'id -u'], ['sudo', '-n', 'id', '-u'],",
        "    ['mount', '-t', 'tmpfs', 'none', '/tmp'], ['umount', '/tmp'], ['passwd', '-d', 'root'],",
        "    ['chsh', '-s', '/bin/sh', 'root'], ['newgrp', 'root'], ['gpasswd', '-a', 'sandbox', 'root'],",
        "    ['unshare', '-r', 'id', '-u'], ['unshare', '-m', 'true'],",
        "]",
        "commands += [[path, '--help'] for path in setuid]",
        "for command in commands:",
        "    try:",
        "        done = subprocess.run(command, input=b'', capture_output=True, timeout=1)",
        "        print('RAN', command[0], 'rc=%d' % done.returncode, 'out=%r' % done.stdout[:80].strip())",
        "    except (OSError, subprocess.TimeoutExpired) as error:",
        "        print('NOTRUN', command[0], type(error).__name__)",
        "for name, action in (('setuid', lambda: os.setuid(0)), ('seteuid', lambda: os.seteuid(0)),",
        "                     ('setgid', lambda: os.setgid(0)), ('setgroups', lambda: os.setgroups([0])),",
        "                     ('setresuid', lambda: os.setresuid(0, 0, 0))):",
        "    try:",
        "        action()",
        "        print('GRANTED', name)",
        "    except OSError as error:",
        "        print('REFUSED', name, error.errno)",
        "print('EUID', os.geteuid(), os.getuid())",
        "with open('/proc/self/status') as handle:",
        "    for line in handle:",
        "        if line.startswith(('NoNewPrivs', 'CapEff', 'CapPrm', 'CapBnd', 'Uid')):",
        "            print('STATUS', line.strip().replace('\\t', ' '))",
      ].join("\n");
      const result = await run(handler, { code, limits: { timeoutMs: 20_000 } });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(linesWith(result.stdout, "GRANTED ")).toEqual([]);
      expect(linesWith(result.stdout, "REFUSED ")).toHaveLength(5);
      const euid = linesWith(result.stdout, "EUID ")[0]?.split(" ") ?? [];
      expect(euid[0]).not.toBe("0");
      expect(euid[1]).not.toBe("0");
      for (const line of linesWith(result.stdout, "RAN ")) {
        const [command, rc, ...out] = line.split(" ");
        if (
          ["su", "sudo", "mount", "umount", "passwd", "chsh", "gpasswd", "unshare"].includes(
            command!,
          )
        ) {
          expect(rc, line).not.toBe("rc=0");
        }
        expect(out.join(" "), line).not.toMatch(/^out=b'0'$/);
      }
      expect(result.stdout).toContain("STATUS NoNewPrivs: 1");
      expect(result.stdout).toContain("STATUS CapEff: 0000000000000000");
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("12. killing its parent, pid 1 or everything leaves the server alive", async () => {
      const sleep = sleepMarker();
      const code = [
        "import os, time",
        sleeper(sleep),
        // A forked run's parent is outside its pid namespace: getppid() is 0 there, and kill(0)
        // would only end the program's own process group.
        `for target in [t for t in (os.getppid(), 1, ${process.pid}, ${process.ppid}, -1) if t]:`,
        "    try:",
        "        os.kill(target, 9)",
        "        print('SENT', target, flush=True)",
        "    except OSError as error:",
        "        print('REFUSED', target, error.errno, flush=True)",
        "time.sleep(0.2)",
        "print('ALIVE', flush=True)",
        "os.killpg(0, 9)",
      ].join("\n");
      const result = await run(handler, { code });
      expect(["succeeded", "failed"]).toContain(result.status);
      expect(result.stdout).toContain("ALIVE");
      expect(() => process.kill(process.ppid, 0)).not.toThrow();
      expectNoSurvivors(sleep);
      await expectHealthy();
    });

    it("13. children that ignore SIGTERM still end at a 1 s timeout", async () => {
      const mark = marker("mecha-termignore");
      const sleep = sleepMarker();
      const result = await run(handler, {
        code: termIgnorers(mark, sleep),
        limits: { timeoutMs: 1_000 },
      });
      expect(result.status).toBe("timed_out");
      expect(result.stdout).toContain("ignoring");
      expect(result.durationMs).toBeLessThan(3_000 + sessionRules.extraStopMs());
      expectNoSurvivors(mark, sleep);
      await expectHealthy();
    });

    it("14. twenty hostile runs at once are all contained", async () => {
      type Case = {
        name: string;
        body: Parameters<typeof run>[1];
        expect: string[];
        markers: string[];
      };
      const cases: Case[] = [];
      for (let i = 0; i < 2; i++) {
        const mark = marker("mecha-c14-fork");
        cases.push({
          name: "fork bomb",
          body: { code: forkBomb(mark), limits: { timeoutMs: 3_000 } },
          expect: ["timed_out", "failed"],
          markers: [mark],
        });
      }
      {
        const mark = marker("mecha-c14-shell");
        cases.push({
          name: "shell bomb",
          body: { code: shellForkBomb(mark), limits: { timeoutMs: 3_000 } },
          expect: ["timed_out", "failed"],
          markers: [mark],
        });
      }
      for (let i = 0; i < 2; i++) {
        const sleep = sleepMarker();
        cases.push({
          name: "big allocation",
          body: { code: bigAllocation(sleep), limits: { memoryMb: 128, timeoutMs: 10_000 } },
          expect: ["memory_exceeded"],
          markers: [sleep],
        });
      }
      {
        const sleep = sleepMarker();
        cases.push({
          name: "gradual allocation",
          body: { code: gradualAllocation(sleep), limits: { memoryMb: 128, timeoutMs: 10_000 } },
          expect: ["memory_exceeded"],
          markers: [sleep],
        });
      }
      {
        const mark = marker("mecha-c14-forkmem");
        cases.push({
          name: "forked allocation",
          body: { code: forkedAllocation(mark), limits: { memoryMb: 128, timeoutMs: 10_000 } },
          expect: ["memory_exceeded"],
          markers: [mark],
        });
      }
      for (let i = 0; i < 2; i++) {
        const sleep = sleepMarker();
        cases.push({
          name: "output flood",
          body: { code: outputFlood(sleep), limits: { outputBytes: 65_536, timeoutMs: 10_000 } },
          expect: ["output_exceeded"],
          markers: [sleep],
        });
      }
      if (plain) {
        // Without the sandbox the disk a run fills is the host's (7a): another flood instead.
        const sleep = sleepMarker();
        cases.push({
          name: "output flood",
          body: { code: outputFlood(sleep), limits: { outputBytes: 65_536, timeoutMs: 10_000 } },
          expect: ["output_exceeded"],
          markers: [sleep],
        });
      } else {
        const mark = marker("mecha-c14-disk");
        const sleep = sleepMarker();
        cases.push({
          name: "disk fill",
          body: { code: diskFill(mark, sleep), limits: { timeoutMs: 10_000 } },
          expect: ["succeeded"],
          markers: [mark, sleep],
        });
      }
      for (let i = 0; i < 2; i++) {
        const sleep = sleepMarker();
        const endsWithProgram = i === 0 || !sessionRules.heldOutputEndsRun();
        cases.push({
          name: "daemon",
          // A run that ends with its program has the limit the other well-behaved entries have:
          // a cold interpreter among nineteen hostile runs can take more than a second to start,
          // and a run that waited for its daemon (sleeping 987 s) would still fail at 10 s.
          body: {
            code: doubleForkDaemon(sleep, i === 0),
            limits: { timeoutMs: endsWithProgram ? 10_000 : 1_500 },
          },
          expect: [endsWithProgram ? "succeeded" : "timed_out"],
          markers: [sleep],
        });
      }
      for (let i = 0; i < 2; i++) {
        const mark = marker("mecha-c14-term");
        const sleep = sleepMarker();
        cases.push({
          name: "SIGTERM ignorers",
          body: { code: termIgnorers(mark, sleep), limits: { timeoutMs: 1_500 } },
          expect: ["timed_out"],
          markers: [mark, sleep],
        });
      }
      for (let i = 0; i < 2; i++) {
        const mark = marker("mecha-c14-spin");
        cases.push({
          name: "cpu spinner",
          body: { code: cpuSpinner(mark), limits: { timeoutMs: 1_500 } },
          expect: ["timed_out", "failed"],
          markers: [mark],
        });
      }
      {
        const sleep = sleepMarker();
        cases.push({
          name: "setuid(0)",
          body: { code: `${sleeper(sleep)}\nimport os\nos.setuid(0)\nprint('ROOT')` },
          expect: ["failed"],
          markers: [sleep],
        });
      }
      {
        const sleep = sleepMarker();
        cases.push({
          name: "environment dump",
          body: {
            // pid 1's environment is empty (bubblewrap) or unreadable (the zygote's init).
            code: `${sleeper(sleep)}\nimport os\nprint(dict(os.environ))\ntry:\n    print(open('/proc/1/environ','rb').read())\nexcept PermissionError:\n    print('DENIED')`,
          },
          expect: ["succeeded"],
          markers: [sleep],
        });
      }
      {
        const sleep = sleepMarker();
        cases.push({
          name: "killer",
          body: {
            code: `${sleeper(sleep)}\nimport os\nfor t in [t for t in (os.getppid(), 1, -1) if t]:\n    try: os.kill(t, 9)\n    except OSError: pass\nprint('alive')`,
          },
          expect: ["succeeded"],
          markers: [sleep],
        });
      }
      if (plain) {
        // Without the sandbox the network is the host's (3): another spinner instead.
        const mark = marker("mecha-c14-spin");
        cases.push({
          name: "cpu spinner",
          body: { code: cpuSpinner(mark), limits: { timeoutMs: 1_500 } },
          expect: ["timed_out", "failed"],
          markers: [mark],
        });
      } else {
        const sleep = sleepMarker();
        cases.push({
          name: "network",
          body: {
            code: `${sleeper(sleep)}\nimport socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n    print('CONNECTED')\nexcept OSError as e:\n    print('blocked', e)`,
          },
          expect: ["succeeded"],
          markers: [sleep],
        });
      }
      expect(cases).toHaveLength(20);

      const started = performance.now();
      const results = await Promise.all(cases.map((entry) => run(handler, entry.body)));
      const wall = performance.now() - started;
      results.forEach((result, index) => {
        const entry = cases[index]!;
        expect(
          entry.expect,
          `${entry.name}: ${result.status} ${result.stderr.slice(-300)}`,
        ).toContain(result.status);
        expect(outputBytes(result)).toBeLessThanOrEqual(10 << 20);
        expect(result.stdout).not.toContain(SECRET);
        expect(result.stdout).not.toContain("CONNECTED");
      });
      expect(wall).toBeLessThan(25_000);
      for (const entry of cases) expectNoSurvivors(...entry.markers);
      await expectHealthy();
    });

    it("15. kernel escapes: ptrace, unshare, mount and writes to the system all fail", async () => {
      const sleep = sleepMarker();
      const bootstrap = join(import.meta.dirname, "../python/bootstrap.py");
      const bootstrapHash = createHash("sha256").update(readFileSync(bootstrap)).digest("hex");
      const code = [
        "import ctypes, errno, os, platform, subprocess",
        sleeper(sleep),
        "libc = ctypes.CDLL(None, use_errno=True)",
        "def call(name, function, *args):",
        "    ctypes.set_errno(0)",
        "    result = function(*args)",
        "    code = ctypes.get_errno()",
        "    print('CALL', name, result, errno.errorcode.get(code, code), flush=True)",
        "CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000",
        "call('ptrace-traceme', libc.ptrace, 0, 0, None, None)",
        "call('ptrace-attach-1', libc.ptrace, 16, 1, None, None)",
        "call('unshare-user', libc.unshare, CLONE_NEWUSER)",
        "call('unshare-mount', libc.unshare, CLONE_NEWNS)",
        "call('unshare-net', libc.unshare, CLONE_NEWNET)",
        "call('unshare-pid', libc.unshare, CLONE_NEWPID)",
        "call('mount-tmpfs', libc.mount, b'none', b'/tmp', b'tmpfs', 0, None)",
        "call('mount-proc', libc.mount, b'proc', b'/tmp', b'proc', 0, None)",
        "call('remount-usr-rw', libc.mount, None, b'/usr', None, 0x20 | 0x1000, None)",
        "call('umount-proc', libc.umount2, b'/proc', 2)",
        "call('chroot', libc.chroot, b'/tmp')",
        "fd = os.open('/proc/1/ns/mnt', os.O_RDONLY) if os.path.exists('/proc/1/ns/mnt') else -1",
        "call('setns', libc.setns, fd, 0)",
        "call('sethostname', libc.sethostname, b'escaped', 7)",
        "if platform.machine() in ('x86_64', 'AMD64'):",
        "    SIGCHLD = 17",
        "    call('clone-newuser', libc.syscall, 56, CLONE_NEWUSER | SIGCHLD, None, None, None, None)",
        "    call('bpf', libc.syscall, 321, 0, None, 0)",
        "    call('keyctl', libc.syscall, 250, 0, 0, 0, 0, 0)",
        "    call('perf_event_open', libc.syscall, 298, None, 0, -1, -1, 0)",
        "    call('io_uring_setup', libc.syscall, 425, 8, None)",
        "    call('init_module', libc.syscall, 175, None, 0, b'')",
        "    call('pivot_root', libc.syscall, 155, b'/tmp', b'/tmp')",
        "    call('userfaultfd', libc.syscall, 323, 0)",
        "import resource",
        "for name in ('RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CPU', 'RLIMIT_NOFILE'):",
        "    which = getattr(resource, name)",
        "    soft, hard = resource.getrlimit(which)",
        "    if hard == resource.RLIM_INFINITY:",
        "        print('UNLIMITED', name)",
        "        continue",
        "    try:",
        "        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
        "        print('RAISED', name)",
        "    except (ValueError, OSError) as error:",
        "        print('KEPT', name, hard)",
        "for command in (['unshare', '-Ur', 'id', '-u'], ['unshare', '-m', 'true'], ['mount', '-t', 'tmpfs', 'x', '/tmp']):",
        "    try:",
        "        done = subprocess.run(command, capture_output=True, timeout=3)",
        "        print('CMD', command[0], 'rc=%d' % done.returncode)",
        "    except OSError as error:",
        "        print('CMD', command[0], 'missing', error.errno)",
        "created = ['/usr/mecha-escape', '/usr/bin/mecha-escape', '/usr/lib/mecha-escape',",
        "           '/bin/mecha-escape', '/lib/mecha-escape', '/etc/mecha-escape', '/etc/passwd',",
        "           '/etc/ld.so.cache', '/etc/ld.so.preload', '/opt/mecha/bootstrap.py',",
        "           '/opt/mecha/mecha-escape', '/mecha-escape']",
        "for path in created:",
        "    try:",
        "        with open(path, 'ab') as handle:",
        "            handle.write(b'1')",
        "        print('WROTE', path, flush=True)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno), flush=True)",
        "existing = {'/proc/sys/kernel/hostname': b'escaped', '/proc/sys/kernel/core_pattern': b'|/tmp/x',",
        "            '/proc/sys/vm/drop_caches': b'3', '/proc/sysrq-trigger': b'h',",
        "            '/proc/self/oom_score_adj': b'-1000', '/sys/fs/cgroup/cgroup.procs': b'1',",
        "            '/dev/mem': b'1', '/dev/kmem': b'1', '/dev/port': b'1', '/dev/kmsg': b'1',",
        "            '/dev/vda': b'1', '/dev/sda': b'1'}",
        "for path, data in existing.items():",
        "    try:",
        "        fd = os.open(path, os.O_WRONLY)",
        "        try:",
        "            os.write(fd, data)",
        "        finally:",
        "            os.close(fd)",
        "        print('WROTE', path, flush=True)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno), flush=True)",
        "for path in ('/usr/mecha-dir', '/etc/mecha-dir', '/mecha-dir'):",
        "    try:",
        "        os.mkdir(path)",
        "        print('WROTE', path)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno))",
        "print('DONE')",
      ].join("\n");
      const result = await run(handler, { code, limits: { timeoutMs: 20_000 } });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toContain("DONE");
      const calls = linesWith(result.stdout, "CALL ");
      expect(calls.length).toBeGreaterThanOrEqual(13);
      for (const line of calls) expect(line, line).toMatch(/^\S+ -1 E[A-Z]+$/);
      for (const line of linesWith(result.stdout, "CMD ")) expect(line, line).not.toMatch(/ rc=0$/);
      expect(linesWith(result.stdout, "RAISED ")).toEqual([]);
      // Memory is the cgroup's to limit where there is one: then no address-space limit is set.
      const unlimited = linesWith(result.stdout, "UNLIMITED ");
      const mayBeUnlimited = sessionRules.unlimitedRlimits();
      expect(unlimited.every((name) => mayBeUnlimited.includes(name))).toBe(true);
      expect(linesWith(result.stdout, "KEPT ").length + unlimited.length).toBe(5);
      expect(linesWith(result.stdout, "WROTE ")).toEqual([]);
      expect(linesWith(result.stdout, "READONLY ").length).toBe(27);
      expect(createHash("sha256").update(readFileSync(bootstrap)).digest("hex")).toBe(
        bootstrapHash,
      );
      expectNoSurvivors(sleep);
      await expectHealthy();
    });
  },
);
