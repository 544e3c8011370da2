import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { chown, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { RunCgroup } from "./cgroup";
import { type Environment, runEnvironment } from "./environment";
import { withInheritedClosed } from "./inheritedDescriptors";
import {
  CancelledError,
  goneAfterSweep,
  jobLine,
  type KernelExit,
  type Launcher,
  type PreparedRun,
} from "./launcher";
import type { RuntimeSettings } from "./options";
import { bwrapArgs, SANDBOX_BOOTSTRAP_DIR, SANDBOX_FDS, SANDBOX_WORKDIR } from "./sandbox";
import { decodeWaitStatus, standardSignal } from "./signals";
import { makeTempDirectory } from "./stateDirectory";
import { within } from "./streamWaits";
import { sweepUid } from "./uidSweep";

/** Where the bootstrap's reporter writes how the program ended (see python/mecha_report.py). */
const STATUS_FD = 8;
/** Without the sandbox on Linux, where the bootstrap reads the seccomp filter (BPF) from. */
const SECCOMP_FD = 5;
/** A memory limit for the time before a job says its own (see `RunExecution`). */
export const IDLE_MEMORY_BYTES = 256 * 1024 * 1024;
/** How long a run's end waits for the sweep of its uid (see `sweepUid`). */
const SWEEP_WAIT_MS = 3000;

/**
 * Ends a run's whole process tree. POSIX: SIGKILL to its process group. Windows: Node's kill is
 * TerminateProcess of the bootstrap, which closes the only handle of the run's job object, and
 * the job (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE) ends every process left in it, those whose parent
 * already exited too (see python/mecha_windows.py). A virtual environment's python.exe starts
 * the real interpreter as its child inside a job of its own that does the same.
 */
export function killGroup(child: ChildProcess, platform: NodeJS.Platform = process.platform): void {
  if (child.pid === undefined) return;
  try {
    if (platform === "win32") child.kill("SIGKILL");
    else process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
}

/** Reads bubblewrap's --info-fd document; it holds the sandbox's pid as the host sees it. */
function readChildPid(stream: Readable): Promise<number | null> {
  return new Promise((resolve) => {
    let text = "";
    stream.setEncoding("utf8");
    const done = (value: number | null) => {
      stream.removeAllListeners("data");
      resolve(value);
    };
    stream.on("data", (chunk: string) => {
      text += chunk;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) done(Number(match[1]));
    });
    stream.on("end", () => done(null));
    stream.on("error", () => done(null));
  });
}

/** The reporter's line (see `report` in python/mecha_report.py): `exit <wait status> <cpu s> <maxrss KiB>`. */
export function parseStatusLine(text: string): KernelExit | null {
  const match = /^exit (\d+) ([\d.e+-]+) (\d+)\n/.exec(text);
  if (!match) return null;
  const cpu = Number(match[2]);
  return {
    ...decodeWaitStatus(Number(match[1])),
    cpuTimeMs: Number.isFinite(cpu) ? cpu * 1000 : null,
    memoryKb: Number(match[3]),
    // Its reporter ends what is left as it exits, just after.
    alone: false,
  };
}

/**
 * The spawn start-up path: a fresh interpreter per run, in bubblewrap when the sandbox works
 * here, else with process isolation only. The bootstrap forks the program and reports its end
 * (see `report` in python/bootstrap.py); on Windows, which cannot fork, it runs the program in
 * a job object of the run's own and reports the job's accounting (see `run_windows` there).
 */
export function createSpawnLauncher(
  env: Environment,
  settings: RuntimeSettings,
  platform: NodeJS.Platform = process.platform,
): Launcher {
  const spawn = settings.spawn ?? nodeSpawn;
  const windows = platform === "win32";
  // On Windows a process of the run that its job is still ending can hold a directory for a
  // moment (its working directory, a file opened without FILE_SHARE_DELETE): TerminateProcess
  // only starts the end. fs.rm retries on EBUSY and EPERM.
  const removal = windows
    ? { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }
    : { recursive: true, force: true };

  async function prepare(cancelled?: () => boolean): Promise<PreparedRun> {
    const sandboxed = env.bwrap !== null;
    const uid = env.uids?.acquire() ?? null;
    // Without the sandbox, a working and a temporary directory of the run's own.
    const made: string[] = [];
    let cgroup: RunCgroup | null = null;
    const release = async () => {
      await cgroup?.remove().catch(() => {});
      for (const dir of made) {
        await rm(dir, removal).catch((cause: unknown) => {
          settings.logger.warn(
            `Mecha: could not remove a run's directory ${dir}: ${String(cause)}`,
          );
        });
      }
      if (uid !== null) env.uids?.release(uid);
    };
    try {
      let home = SANDBOX_WORKDIR;
      let tmp = "/tmp";
      if (!sandboxed) {
        for (const dir of [
          await makeTempDirectory("mecha-run"),
          await makeTempDirectory("mecha-run"),
        ]) {
          made.push(dir);
          if (uid !== null) await chown(dir, uid, uid);
        }
        [home, tmp] = made as [string, string];
      }
      if (env.cgroups) {
        cgroup = await env.cgroups
          .create(`${process.pid}-${Math.random().toString(36).slice(2, 12)}`, {
            memoryBytes: IDLE_MEMORY_BYTES,
            pids: settings.maxProcesses,
          })
          .catch((cause) => {
            settings.logger.warn(`Mecha: could not create a cgroup for a run: ${String(cause)}`);
            return null;
          });
      }
      const python = env.interpreter.executable;
      // Not -E nor -s: the environment is allow-listed already, and HOME is the run's own
      // directory (see zygote/zygoteProcess.ts).
      const flags = ["-u"];
      const envVars = runEnvironment(home, { tmp, matplotlib: env.matplotlib, platform });
      let seccompFd: number | null = null;
      const stdio: ("pipe" | "ignore" | number)[] = ["pipe", "pipe", "pipe", "pipe", "pipe"];
      let command: string;
      let args: string[];
      if (sandboxed && env.bwrap) {
        if (env.seccompFile) seccompFd = openSync(env.seccompFile, "r");
        stdio.push(seccompFd ?? "ignore", "pipe", "pipe", "pipe");
        command = env.bwrap;
        args = [
          ...bwrapArgs(
            {
              pythonPrefix: env.interpreter.prefix,
              bootstrapDir: env.bootstrapDir,
              etcDir: env.etcDir,
              binds: env.binds,
            },
            { diskBytes: settings.diskBytes },
            envVars,
            { seccomp: seccompFd !== null, block: true },
          ),
          "--uid",
          "1000",
          "--gid",
          "1000",
          "--",
          python,
          ...flags,
          `${SANDBOX_BOOTSTRAP_DIR}/bootstrap.py`,
        ];
      } else {
        // On Linux the bootstrap loads the filter itself, with no_new_privs (see bootstrap.py).
        if (env.seccompFile && !windows) seccompFd = openSync(env.seccompFile, "r");
        stdio.push(seccompFd ?? "ignore", "ignore", "ignore", "pipe");
        command = python;
        args = [...flags, join(env.bootstrapDir, "bootstrap.py")];
      }
      // Cancelled while the run was being prepared: never start the program.
      if (cancelled?.()) throw new CancelledError();
      let child: ChildProcess;
      try {
        child = spawn(command, args, {
          cwd: sandboxed ? "/" : home,
          // bwrap itself starts with an empty environment: its pid 1 keeps its env readable.
          env: sandboxed ? {} : envVars,
          stdio: withInheritedClosed(stdio) as SpawnOptions["stdio"],
          // A process group of its own on POSIX. Not on Windows: there Node puts a child it
          // spawns without `detached` in a job object that ends it when the server ends, a
          // crash included (the run's own job nests in it), and `detached` would also start it
          // without a console (its console programs would each open a window). With every stdio
          // piped, windowsHide gives it a hidden console of its own (CREATE_NO_WINDOW), which
          // the server's Ctrl-C and Ctrl-Break do not reach.
          detached: !windows,
          windowsHide: true,
          ...(uid !== null ? { uid, gid: uid } : {}),
        });
      } finally {
        if (seccompFd !== null) closeSync(seccompFd);
      }
      const proc = child;
      const streams = proc.stdio as unknown as (Readable & Writable)[];
      for (const stream of streams) stream?.on?.("error", () => {});
      const processExit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        proc.once("exit", (code, signal) =>
          resolve({ code, signal: signal ? standardSignal(signal) : null }),
        );
        proc.once("error", () => resolve({ code: null, signal: null }));
      });
      const status = streams[STATUS_FD] as Readable;
      const exited = new Promise<KernelExit | null>((resolve) => {
        let text = "";
        status.setEncoding("utf8");
        status.on("data", (chunk: string) => {
          text += chunk;
          const line = parseStatusLine(text);
          if (line) resolve(line);
          else if (text.length > 256) resolve(null);
        });
        // No line: the bootstrap never forked the program (an interpreter that failed to start,
        // or a run killed first). How its own process ended is all there is.
        status.once("close", async () => {
          const end = await processExit;
          const killed = end.code === null && end.signal === "SIGKILL";
          resolve(killed ? null : { ...end, cpuTimeMs: null, memoryKb: null, alone: false });
        });
      });
      let dead = false;
      const exitedProcess = processExit.then(() => {
        dead = true;
      });
      // Without the sandbox and without a cgroup, a process that left the run's process group
      // (setsid, as daemons do) is ended through the run's uid, before the uid goes to another run.
      const sweeps = !sandboxed && !windows && uid !== null && cgroup === null;
      let swept: Promise<void> | null = null;
      const kill = () => {
        killGroup(proc, platform);
        void cgroup?.killAll();
        if (sweeps) swept ??= within(SWEEP_WAIT_MS, sweepUid(uid!)).then(() => {});
      };
      // The reporter forks; Windows' bootstrap runs the program itself (see `run_windows`).
      const report = !windows;
      // Without the sandbox, the descriptor the bootstrap reads the seccomp filter from.
      const seccomp = !sandboxed && seccompFd !== null ? SECCOMP_FD : undefined;
      const prepared: PreparedRun = {
        stdin: streams[0] as Writable,
        stdout: streams[1] as Readable,
        stderr: streams[2] as Readable,
        events: streams[4] as Readable,
        cgroup,
        ownUser: sandboxed || uid !== null,
        jobObject: windows,
        exited,
        get gone() {
          return goneAfterSweep(exitedProcess, swept);
        },
        get dead() {
          return dead;
        },
        sendJob(job) {
          (streams[3] as Writable).end(jobLine({ ...job, report, seccomp }));
        },
        openSession(job) {
          const channel = streams[3] as Writable;
          channel.write(jobLine({ ...job, report, seccomp }));
          return channel;
        },
        kill,
        async release() {
          kill();
          await prepared.gone;
          await cgroup?.killAll();
          for (const stream of streams) stream?.destroy?.();
          await release();
        },
      };
      if (sandboxed) {
        const info = streams[SANDBOX_FDS.info] as Readable;
        const block = streams[SANDBOX_FDS.block] as Writable;
        const childPid = await Promise.race([readChildPid(info), exitedProcess.then(() => null)]);
        if (childPid !== null && cgroup) await cgroup.add(childPid).catch(() => {});
        block.end("go");
      } else if (cgroup && proc.pid !== undefined) {
        // The bootstrap waits for its job before any user code runs, so nothing has forked yet.
        await cgroup.add(proc.pid).catch(() => {});
      }
      return prepared;
    } catch (cause) {
      await release();
      throw cause;
    }
  }

  return { name: "spawn", prepare, close() {} };
}
