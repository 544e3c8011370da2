/**
 * The spawn start-up path without the sandbox (`sandbox: "none"`, `startup: "spawn"`): a fresh
 * interpreter per run, without namespaces. Where the server is root but has no cgroups, a
 * process that left its run's process group is ended through the run's uid, before that uid
 * goes to another run, as on the zygote path (test/plainZygote.test.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import { hostProcessesWith, linesWith, marker, run, sleepMarker } from "./hostile/helpers";
import { plainLayers } from "./hostile/mode";
import { doubleForkDaemon } from "./hostile/programs";
import { SessionApi } from "./sessions/api";

const linux = process.platform === "linux";
if (linux && !plainLayers.ownUid) {
  console.warn(
    "SKIPPED: without the sandbox and cgroups, a run's uid of its own (the sweep that ends what " +
      "left its process group) needs the server to run as root.",
  );
}

/**
 * A daemon that left the process group and, once the run's own processes are gone, goes on
 * forking and kill(-1)ing every other process it may (a sweeper that takes the run's uid too).
 */
function stubbornDaemon(mark: string): string {
  const loop = [
    "import os, signal, sys, time",
    "run = [int(pid) for pid in sys.argv[2:4]]",
    // Started: the run may end.
    "os.close(int(sys.argv[1]))",
    "while any(os.path.exists('/proc/%d' % pid) for pid in run):",
    "    time.sleep(0.005)",
    "while True:",
    "    try:",
    "        os.kill(-1, signal.SIGKILL)",
    "        if os.fork() == 0:",
    "            os._exit(0)",
    "        os.wait()",
    "    except OSError:",
    "        pass",
  ].join("\n");
  return [
    "import os, sys",
    "started, starting = os.pipe()",
    "run = [str(os.getpid()), str(os.getppid())]",
    "if os.fork() == 0:",
    "    os.setsid()",
    "    if os.fork() == 0:",
    "        os.set_inheritable(starting, True)",
    "        for fd in range(1024):",
    "            if fd != starting:",
    "                try:",
    "                    os.close(fd)",
    "                except OSError:",
    "                    pass",
    `        os.execv(sys.executable, [sys.executable, "-c", ${JSON.stringify(loop)}, str(starting), *run, ${JSON.stringify(mark)}])`,
    "    os._exit(0)",
    "os.close(starting)",
    "os.read(started, 1)",
    "print('daemonized', flush=True)",
  ].join("\n");
}

describe.skipIf(!linux || !plainLayers.ownUid)(
  "the spawn start-up path without the sandbox and without cgroups, as root",
  { timeout: 30_000 },
  () => {
    const handler = createHandler({
      sandbox: "none",
      startup: "spawn",
      cgroups: false,
      logger: false,
    });
    const api = new SessionApi(handler);
    afterAll(() => handler.close());

    it("ends a process that left the run's process group, through the run's uid", async () => {
      const detached = sleepMarker();
      const result = await run(handler, { code: doubleForkDaemon(detached, true) });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("daemonized\n");
      expect(hostProcessesWith(detached)).toEqual([]);
    });

    it("ends them even when they fork and kill everything they may, before the uid is reused", async () => {
      const detached = marker("mecha-stubborn");
      const result = await run(handler, { code: stubbornDaemon(detached) });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toBe("daemonized\n");
      expect(hostProcessesWith(detached)).toEqual([]);
    });

    it("ends what a session left outside its process group once the session is deleted", async () => {
      const detached = sleepMarker();
      const id = await api.open();
      const left = await api.ok(id, doubleForkDaemon(detached, true));
      expect(left.stdout).toBe("daemonized\n");
      // It is the session's while the session lives.
      expect(hostProcessesWith(detached)).toHaveLength(1);
      await api.delete(id);
      expect(hostProcessesWith(detached)).toEqual([]);
    });

    it("gives a later run none of what an earlier run of the same uid left", async () => {
      const detached = sleepMarker();
      const own = createHandler({
        sandbox: "none",
        startup: "spawn",
        cgroups: false,
        logger: false,
        warmPool: 0,
        // Two uids, handed out in turn: the first run's goes to the third.
        uidRange: { start: 299_000, size: 2 },
      });
      try {
        const first = await run(own, {
          code: `${doubleForkDaemon(detached, true)}\nprint('UID', os.getuid())`,
        });
        expect(first.status, first.stderr).toBe("succeeded");
        expect((await run(own, { code: "pass" })).status).toBe("succeeded");
        // Every live process of its uid but itself and the bootstrap that started it.
        const code = [
          "import os",
          "print('UID', os.getuid())",
          "def alive_and_mine(pid):",
          "    try:",
          "        status = open('/proc/%s/status' % pid).read()",
          "    except OSError:",
          "        return False",
          "    uid = int(status.split('\\nUid:')[1].split()[0])",
          "    return uid == os.getuid() and '\\nState:\\tZ' not in status",
          "ours = {os.getpid(), os.getppid()}",
          "others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in ours]",
          "print('OTHERS', len([p for p in others if alive_and_mine(p)]))",
        ].join("\n");
        const second = await run(own, { code });
        expect(second.status, second.stderr).toBe("succeeded");
        expect(linesWith(second.stdout, "UID ")).toEqual(linesWith(first.stdout, "UID "));
        expect(hostProcessesWith(detached)).toEqual([]);
        expect(linesWith(second.stdout, "OTHERS ")).toEqual(["0"]);
      } finally {
        await own.close();
      }
    });
  },
);
