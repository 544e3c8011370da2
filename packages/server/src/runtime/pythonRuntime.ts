import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { chmod, chown, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { arch, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { RunError, RuntimeInfo } from "@mecha/protocol";
import type { Logger } from "../options";
import { type CgroupManager, createCgroupManager, type RunCgroup } from "./cgroup";
import { findPython, type PythonInterpreter } from "./findPython";
import { OutputCollector } from "./outputCollector";
import {
  bwrapArgs,
  findBwrap,
  generateSeccomp,
  SANDBOX_BOOTSTRAP_DIR,
  SANDBOX_FDS,
  SANDBOX_WORKDIR,
  writeSandboxEtc,
} from "./sandbox";
import type { RunJob, RunningProgram, RunOutcome, RunSink, Runtime } from "./types";
import { UidPool } from "./uidPool";
import { Zygote } from "./zygote";

/** Starts a process; injectable so a faster start-up path can replace it. */
export type Spawner = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => ChildProcess;

export interface PythonRuntimeOptions {
  /** The interpreter; see `findPython` for the default search. */
  python?: string;
  /**
   * `"auto"`: bubblewrap when its start-up probe passes, else process isolation with a warning;
   * `"required"`: fail without it; `"none"`: never.
   * @default "auto"
   */
  sandbox?: "auto" | "required" | "none";
  /**
   * Processes and threads one run may have at once.
   * @default 64
   */
  maxProcesses?: number;
  /**
   * Largest file a program may write, in bytes.
   * @default 10485760
   */
  maxFileBytes?: number;
  /**
   * Size of the sandbox's /tmp and of its working directory, each, in bytes.
   * @default 67108864
   */
  diskBytes?: number;
  /**
   * Use cgroups for memory and process limits and kernel accounting where they can be created.
   * @default true
   */
  cgroups?: boolean;
  /**
   * When the server runs as root, runs get unprivileged uids from this range (one per running
   * program, never shared at the same time).
   * @default { start: 200000, size: 4096 }
   */
  uidRange?: { start: number; size: number };
  /**
   * Interpreters kept started (isolated, in their cgroup, waiting for a job) so that a run does
   * not wait for one to start. Each costs one idle interpreter's memory (~10 MB).
   * @default 2
   */
  warmPool?: number;
  /**
   * How a sandboxed run starts: `"zygote"` forks each run from one interpreter started once in
   * bubblewrap and isolates the child (see python/zygote.py) before any of its code runs;
   * `"spawn"` starts bubblewrap and a fresh interpreter per run. Without the sandbox, runs always
   * spawn.
   * @default "zygote"
   */
  startup?: "spawn" | "zygote";
  /** Starts processes. @default node:child_process spawn */
  spawn?: Spawner;
  /** @default console */
  logger?: Logger;
}

interface Environment {
  interpreter: PythonInterpreter;
  isolation: "sandbox" | "process";
  bwrap: string | null;
  seccompFile: string | null;
  stateDir: string;
  /** The bootstrap's files as the runs read them (see `installBootstrap`). */
  bootstrapDir: string;
  cgroups: CgroupManager | null;
  zygote: Zygote | null;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The bootstrap ships in `python/` beside `src/` and `dist/`. */
const BOOTSTRAP_DIR = join(here, here.endsWith("runtime") ? "../../python" : "../python");

/**
 * Copies the files a run executes into the server's state directory, which every run uid can
 * read. The package itself may live where they cannot (under /root, or a 0700 checkout).
 */
async function installBootstrap(stateDir: string): Promise<string> {
  const dir = join(stateDir, "python");
  await mkdir(dir, { mode: 0o755 });
  for (const file of ["bootstrap.py", "zygote.py"]) {
    await copyFile(join(BOOTSTRAP_DIR, file), join(dir, file));
    await chmod(join(dir, file), 0o644);
  }
  return dir;
}

class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor() {
    super("cancelled before start");
  }
}

const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

function baseEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TMPDIR: "/tmp",
  };
  if (process.platform === "win32") {
    // Python cannot start on Windows without these; they hold no secrets.
    for (const key of ["SYSTEMROOT", "WINDIR", "TEMP", "TMP", "PATH"]) {
      const value = process.env[key];
      if (value) env[key] = value;
    }
    env.PYTHONIOENCODING = "utf-8";
  }
  return env;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") child.kill("SIGKILL");
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

/**
 * `promise`'s value, or `null` once `ms` have passed. The timer is cleared as soon as the
 * promise settles: left running, it would keep the run's whole state alive (and the process
 * awake) until it fired.
 */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates the Python runtime: interpreter discovery, isolation probe, and per-run launches. */
export function createPythonRuntime(options: PythonRuntimeOptions = {}): Runtime {
  const logger = options.logger ?? console;
  const spawn = options.spawn ?? nodeSpawn;
  const maxProcesses = options.maxProcesses ?? 64;
  const maxFileBytes = options.maxFileBytes ?? 10 << 20;
  const diskBytes = options.diskBytes ?? 64 << 20;
  const mode = options.sandbox ?? "auto";
  const warmPool = Math.max(0, Math.floor(options.warmPool ?? 2));
  const startup = options.startup ?? "zygote";
  let zygoteUid: number | null = null;
  const root = isRoot();
  const uidRange = {
    start: options.uidRange?.start ?? 200_000,
    size: options.uidRange?.size ?? 4096,
  };
  const uids = root ? new UidPool(uidRange.start, uidRange.size) : null;
  const running = new Set<{ kill(): void; done: Promise<unknown> }>();
  let closed = false;

  /** What a start that fails must not leave behind. */
  const made: { stateDir?: string; cgroups?: CgroupManager | null; env?: Environment } = {};
  const environment: Promise<Environment> = (async () => {
    const interpreter = await findPython(options.python);
    const stateDir = await mkdtemp(join(tmpdir(), "mecha-"));
    made.stateDir = stateDir;
    // Run uids must read the sandbox's /etc files and seccomp filter; nothing here is secret.
    await chmod(stateDir, 0o755);
    const bootstrapDir = await installBootstrap(stateDir);
    const cgroups = options.cgroups === false ? null : await createCgroupManager();
    made.cgroups = cgroups;
    let bwrap: string | null = null;
    let seccompFile: string | null = null;
    if (mode !== "none" && process.platform === "linux") {
      bwrap = findBwrap();
      if (bwrap) {
        await writeSandboxEtc(join(stateDir, "etc"), 1000, 1000);
        seccompFile = await generateSeccomp(
          interpreter.executable,
          join(BOOTSTRAP_DIR, "seccomp_filter.py"),
          join(stateDir, "seccomp.bpf"),
        );
        if (!seccompFile && arch() === "x64") seccompFile = join(BOOTSTRAP_DIR, "seccomp-x64.bpf");
        if (!seccompFile) {
          logger.warn(
            "Mecha: no seccomp filter (install python3-seccomp); the sandbox runs without one.",
          );
        }
      }
    }
    const env: Environment = {
      interpreter,
      isolation: bwrap ? "sandbox" : "process",
      bwrap,
      seccompFile,
      stateDir,
      bootstrapDir,
      cgroups,
      zygote: null,
    };
    made.env = env;
    if (bwrap && startup === "zygote") {
      zygoteUid = uids?.acquire() ?? null;
      const zygote = new Zygote({
        bwrap,
        python: interpreter.executable,
        pythonPrefix: interpreter.prefix,
        bootstrapDir,
        etcDir: join(stateDir, "etc"),
        seccompFile,
        diskBytes,
        env: baseEnv(SANDBOX_WORKDIR),
        uid: zygoteUid,
        runUids: root && zygoteUid !== null ? uidRange : null,
        cgroupParents: cgroups?.joinable ?? null,
        spawn,
      });
      env.zygote = zygote;
    }
    if (bwrap) {
      // Through the zygote when there is one; without it when only the zygote fails.
      let problem = await probe(env);
      if (problem && env.zygote) {
        env.zygote.close();
        env.zygote = null;
        logger.warn(
          `Mecha: the zygote start-up path failed (${problem}); starting each run with bubblewrap instead.`,
        );
        problem = await probe(env);
      }
      if (problem) {
        env.isolation = "process";
        env.bwrap = null;
        if (mode === "required") {
          throw new Error(
            `Mecha: the bubblewrap sandbox is required but does not work here: ${problem}. ` +
              "On Ubuntu 24.04+, allow unprivileged user namespaces for bwrap (see the security docs).",
          );
        }
        logger.warn(
          `Mecha: WARNING: bubblewrap is installed but its sandbox failed (${problem}); ` +
            "running programs with process isolation only. Do not run untrusted code like this.",
        );
      }
    } else if (mode === "required") {
      throw new Error(
        "Mecha: the sandbox is required but bubblewrap (bwrap) is not available on this " +
          `${process.platform} host. Install it (apt-get install bubblewrap) or use --sandbox none.`,
      );
    } else if (mode === "auto") {
      logger.warn(
        "Mecha: WARNING: bubblewrap (bwrap) not found; running programs with process isolation only " +
          "(limits, a separate process group, an allow-listed environment). Do not run untrusted code like this.",
      );
    }
    return env;
  })().catch(async (cause: unknown) => {
    // A start that fails (a required sandbox that does not work, say) leaves nothing behind:
    // no zygote, no cgroups, no state directory.
    made.env?.zygote?.close();
    if (zygoteUid !== null) uids?.release(zygoteUid);
    zygoteUid = null;
    await made.cgroups?.close().catch(() => {});
    if (made.stateDir) await rm(made.stateDir, { recursive: true, force: true }).catch(() => {});
    throw cause;
  });
  // Failures surface through info() and start(); keep them from being unhandled meanwhile.
  environment.catch(() => {});

  async function probe(env: Environment): Promise<string | null> {
    const job: RunJob = {
      id: `probe-${Math.random().toString(36).slice(2, 10)}`,
      code: "import os\nprint(os.getcwd())",
      files: [],
      args: [],
      stdin: "",
      interactive: false,
      limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 4096 },
    };
    const sink = { stdout() {}, stderr() {}, input() {} };
    const outcome = await launch(env, job, sink, { stdin: [], cancel: false }, false).done;
    if (outcome.status === "succeeded" && outcome.stdout.trim() === SANDBOX_WORKDIR) return null;
    return (outcome.stderr || outcome.stdout || `exit ${outcome.exitCode}`).trim().slice(0, 500);
  }

  interface Pending {
    stdin: { data: string; eof: boolean }[];
    cancel: boolean;
    program?: RunningProgram;
  }

  /** A started interpreter, isolated and in its cgroup, waiting for its job on fd 3. */
  interface Prepared {
    stdin: Writable | null;
    job: Writable;
    /** stdout, stderr and events: read until they close once the program has ended. */
    outputs: (Readable | null | undefined)[];
    streams: (Readable | Writable | null | undefined)[];
    /** Kills the program and every process it started that it can reach. */
    kill(): void;
    cgroup: RunCgroup | null;
    workdir: string | null;
    uid: number | null;
    sandboxed: boolean;
    /** The program ended; `usage` is wait4 accounting where the start-up path has it. */
    exited: Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      usage?: { cpuTimeMs: number | null; memoryKb: number | null };
      /** No process of the run is left (its pid namespace is gone). */
      ended?: boolean;
    }>;
    spawnError: Promise<Error>;
    /** Output before a job was bound (only ever an interpreter that failed to start). */
    early: { stream: "stdout" | "stderr" | "events"; chunk: Buffer }[];
    bind: ((stream: "stdout" | "stderr" | "events", chunk: Buffer) => void) | null;
    /** The process has exited. */
    dead: boolean;
    /** Releases what `prepare` took when the process is discarded unused. */
    discard(): Promise<void>;
    /**
     * The program says when it has ended (an `exited` event, then its streams close) before the
     * kernel has torn its process down; the run then answers at once, its usage read from its
     * cgroup, and its uid and cgroup are released once `exited` settles.
     */
    reportsExit?: boolean;
    /** The program's host pid, where the start-up path knows it. */
    pid?: number;
  }

  const warm: Prepared[] = [];
  let warming = 0;
  const inFlight = new Set<Promise<unknown>>();

  // The pool fills as soon as the runtime is ready, so the first run does not wait either.
  void environment.then(
    (env) => refill(env),
    () => {},
  );

  /** Keeps `warmPool` interpreters started ahead of demand, off the request path. */
  function refill(env: Environment): void {
    while (!closed && warm.length + warming < warmPool) {
      warming++;
      const next = prepare(env, null).then(
        (prepared) => {
          warming--;
          // (Discarded within `next`, so that close() waits for it.)
          if (closed || prepared.dead) return prepared.discard();
          warm.push(prepared);
          // A warm process that dies while waiting is dropped, never handed out.
          void prepared.exited.then(() => {
            const index = warm.indexOf(prepared);
            if (index >= 0) {
              warm.splice(index, 1);
              track(prepared.discard());
            }
          });
        },
        (cause) => {
          warming--;
          logger.warn(`Mecha: could not start a warm interpreter: ${String(cause)}`);
        },
      );
      track(next);
    }
  }

  /** Work that close() waits for. */
  function track(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
  }

  function takeWarm(): Prepared | null {
    while (warm.length > 0) {
      const prepared = warm.shift()!;
      if (!prepared.dead) return prepared;
    }
    return null;
  }

  /** Spawns an interpreter for a future job: isolation, uid, cgroup and working directory. */
  async function prepare(env: Environment, cancelled: (() => boolean) | null): Promise<Prepared> {
    if (env.zygote && env.isolation === "sandbox") return prepareForked(env, env.zygote, cancelled);
    const sandboxed = env.isolation === "sandbox" && env.bwrap !== null;
    const uid = uids?.acquire() ?? null;
    let workdir: string | null = null;
    let cgroup: RunCgroup | null = null;
    const release = async () => {
      await cgroup?.remove().catch(() => {});
      if (workdir) await rm(workdir, { recursive: true, force: true }).catch(() => {});
      if (uid !== null) uids?.release(uid);
    };
    try {
      const home = sandboxed ? SANDBOX_WORKDIR : await mkdtemp(join(tmpdir(), "mecha-run-"));
      if (!sandboxed) {
        workdir = home;
        if (uid !== null) await chown(home, uid, uid);
      }
      if (env.cgroups) {
        cgroup = await env.cgroups
          .create(`${process.pid}-${Math.random().toString(36).slice(2, 12)}`, {
            memoryBytes: 256 * 1024 * 1024,
            pids: maxProcesses,
          })
          .catch((cause) => {
            logger.warn(`Mecha: could not create a cgroup for a run: ${String(cause)}`);
            return null;
          });
      }
      const python = env.interpreter.executable;
      const flags = ["-E", "-s", "-u"];
      const envVars = baseEnv(home);
      let seccompFd: number | null = null;
      const stdio: SpawnOptions["stdio"] = ["pipe", "pipe", "pipe", "pipe", "pipe"];
      let command: string;
      let args: string[];
      if (sandboxed && env.bwrap) {
        if (env.seccompFile) seccompFd = openSync(env.seccompFile, "r");
        stdio.push(seccompFd ?? "ignore", "pipe", "pipe");
        command = env.bwrap;
        args = [
          ...bwrapArgs(
            {
              pythonPrefix: env.interpreter.prefix,
              bootstrapDir: env.bootstrapDir,
              etcDir: join(env.stateDir, "etc"),
            },
            { diskBytes },
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
          stdio,
          detached: process.platform !== "win32",
          windowsHide: true,
          ...(uid !== null ? { uid, gid: uid } : {}),
        });
      } finally {
        if (seccompFd !== null) closeSync(seccompFd);
      }
      const proc = child;
      const spawnError = new Promise<Error>((resolve) => proc.once("error", resolve));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })),
      );
      const streams = proc.stdio as unknown as (Readable & Writable)[];
      for (const stream of streams) stream?.on?.("error", () => {});
      void exited.then(() => {
        prepared.dead = true;
      });
      const prepared: Prepared = {
        stdin: proc.stdin,
        job: streams[3] as Writable,
        outputs: [proc.stdout, proc.stderr, streams[4]],
        streams,
        kill: () => killGroup(proc),
        cgroup,
        workdir,
        uid,
        sandboxed,
        exited,
        spawnError,
        early: [],
        bind: null,
        dead: false,
        async discard() {
          killGroup(proc);
          await cgroup?.killAll();
          for (const stream of streams) stream?.destroy?.();
          await release();
        },
      };
      const route = (stream: "stdout" | "stderr" | "events") => (chunk: Buffer) => {
        if (prepared.bind) prepared.bind(stream, chunk);
        else prepared.early.push({ stream, chunk });
      };
      proc.stdout?.on("data", route("stdout"));
      proc.stderr?.on("data", route("stderr"));
      streams[4]?.on("data", route("events"));

      if (sandboxed) {
        const info = streams[SANDBOX_FDS.info] as Readable;
        const block = streams[SANDBOX_FDS.block] as Writable;
        const childPid = await Promise.race([readChildPid(info), spawnError.then(() => null)]);
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

  /** A run forked from the zygote: isolated, in its cgroup, waiting for its job on fd 3. */
  async function prepareForked(
    env: Environment,
    zygote: Zygote,
    cancelled: (() => boolean) | null,
  ): Promise<Prepared> {
    let cgroup: RunCgroup | null = null;
    const id = `${process.pid}-${Math.random().toString(36).slice(2, 12)}`;
    // A host uid of its own, as on the spawn path (when the server is root).
    const uid = uids?.acquire() ?? null;
    // The run moves itself into its cgroup as its first step, as the zygote's uid, when it may
    // (cgroup v1): the server then starts no thread-pool write for it.
    const joins = zygote.joinsCgroups;
    if (env.cgroups) {
      cgroup = await env.cgroups
        .create(
          id,
          { memoryBytes: 256 * 1024 * 1024, pids: maxProcesses },
          joins ? (zygoteUid ?? undefined) : undefined,
        )
        .catch((cause) => {
          logger.warn(`Mecha: could not create a cgroup for a run: ${String(cause)}`);
          return null;
        });
    }
    try {
      if (cancelled?.()) throw new CancelledError();
      // The run's program starts only once its job arrives, after this placement.
      const run = await zygote.fork(
        id,
        async (hostPid) => {
          if (cgroup && !joins) await cgroup.add(hostPid);
        },
        uid,
        cgroup && joins ? cgroup.name : null,
        // The run's program, alone in its cgroup until its job arrives: finding it there is
        // also the proof that it joined.
        cgroup && joins
          ? async () => {
              const pids = await cgroup.processes();
              if (pids.length !== 1) throw new Error("the run is not alone in its cgroup");
              return pids[0] ?? null;
            }
          : null,
      );
      const streams = [run.stdin, run.stdout, run.stderr, run.job, run.events];
      const prepared: Prepared = {
        stdin: run.stdin,
        job: run.job,
        outputs: [run.stdout, run.stderr, run.events],
        streams,
        kill: run.kill,
        cgroup,
        workdir: null,
        uid,
        sandboxed: true,
        exited: run.exited.then(({ code, signal, cpuTimeMs, memoryKb, ended }) => ({
          code,
          signal,
          usage: { cpuTimeMs, memoryKb },
          ended,
        })),
        spawnError: new Promise<Error>(() => {}),
        early: [],
        bind: null,
        dead: false,
        async discard() {
          run.kill();
          await cgroup?.killAll();
          for (const stream of streams) stream.destroy();
          await cgroup?.remove().catch(() => {});
          if (uid !== null) uids?.release(uid);
        },
        reportsExit: cgroup !== null,
        pid: run.hostPid,
      };
      void prepared.exited.then(() => {
        prepared.dead = true;
      });
      const route = (stream: "stdout" | "stderr" | "events") => (chunk: Buffer) => {
        if (prepared.bind) prepared.bind(stream, chunk);
        else prepared.early.push({ stream, chunk });
      };
      run.stdout.on("data", route("stdout"));
      run.stderr.on("data", route("stderr"));
      run.events.on("data", route("events"));
      return prepared;
    } catch (cause) {
      await cgroup?.remove().catch(() => {});
      if (uid !== null) uids?.release(uid);
      throw cause;
    }
  }

  function launch(
    env: Environment,
    job: RunJob,
    sink: RunSink,
    pending: Pending,
    usePool = true,
  ): RunningProgram {
    let finish!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((resolve) => {
      finish = resolve;
    });
    let prepared: Prepared | null = null;
    let reason: "cancelled" | "timed_out" | "output_exceeded" | null = null;
    const queuedStdin: { data: string; eof: boolean }[] = [...pending.stdin];
    let stdinClosed = queuedStdin.some((entry) => entry.eof);
    let error: RunError | undefined;
    const collector = new OutputCollector(job.limits.outputBytes, (stream, data) =>
      stream === "stdout" ? sink.stdout(data) : sink.stderr(data),
    );
    let timer: NodeJS.Timeout | undefined;
    let ready = false;
    let started = performance.now();

    const stop = (why: NonNullable<typeof reason>) => {
      if (reason) return;
      reason = why;
      if (prepared) {
        prepared.kill();
        void prepared.cgroup?.killAll();
      }
    };
    if (pending.cancel) reason = "cancelled";

    const writeStdin = (data: string, eof: boolean) => {
      if (stdinClosed) return;
      if (eof) stdinClosed = true;
      const stdin = prepared?.stdin;
      if (!ready || !stdin) {
        queuedStdin.push({ data, eof });
        return;
      }
      if (data) stdin.write(data);
      if (eof) stdin.end();
    };

    const tracked = { kill: () => stop("cancelled"), done };
    running.add(tracked);

    /** Every process of the run has been killed (or was already gone) once it ended. */
    let swept = false;
    let reportExit: (code: number) => void = () => {};
    const reported = new Promise<{ code: number; signal: null; reported: true }>((resolve) => {
      reportExit = (code) => resolve({ code, signal: null, reported: true });
    });

    let eventBuffer = "";
    const receive = (stream: "stdout" | "stderr" | "events", chunk: Buffer) => {
      if (stream === "events") {
        eventBuffer += chunk.toString("utf8");
        let newline = eventBuffer.indexOf("\n");
        while (newline >= 0) {
          const line = eventBuffer.slice(0, newline);
          eventBuffer = eventBuffer.slice(newline + 1);
          newline = eventBuffer.indexOf("\n");
          handleEvent(line);
        }
      } else if (!collector.push(stream, chunk)) {
        stop("output_exceeded");
      }
    };

    void (async () => {
      try {
        if (reason) throw new CancelledError();
        prepared = (usePool ? takeWarm() : null) ?? (await prepare(env, () => reason !== null));
        // Starting a process blocks the event loop for a few milliseconds (the fork copies the
        // server): while other warm interpreters wait, refill only after this run has answered,
        // so its output is not held up.
        if (usePool && warm.length === 0) refill(env);
        const { cgroup, streams } = prepared;
        if (reason) {
          stop(reason);
          throw new CancelledError();
        }
        await cgroup?.setMemory(job.limits.memoryMb * 1024 * 1024).catch(() => {});
        for (const { stream, chunk } of prepared.early.splice(0)) receive(stream, chunk);
        prepared.bind = receive;

        started = performance.now();
        timer = setTimeout(() => stop("timed_out"), job.limits.timeoutMs);
        const jobDoc = JSON.stringify({
          code: job.code,
          files: job.files,
          args: job.args,
          interactive: job.interactive,
          main: "main.py",
          limits: {
            as: process.platform === "darwin" ? undefined : job.limits.memoryMb * 1024 * 1024,
            cpu: Math.ceil(job.limits.timeoutMs / 1000) + 1,
            fsize: maxFileBytes,
            nofile: 256,
            // Counted per user: only meaningful when the run has a uid (or user namespace) of its own.
            nproc: prepared.sandboxed || prepared.uid !== null ? maxProcesses : undefined,
            core: 0,
          },
        });
        prepared.job.end(jobDoc);
        ready = true;
        const stdin = prepared.stdin;
        if (stdin) {
          if (job.stdin) stdin.write(job.stdin);
          for (const { data } of queuedStdin.splice(0)) if (data) stdin.write(data);
          if (stdinClosed || !job.interactive) {
            stdinClosed = true;
            stdin.end();
          }
        }

        let ended: { code: number | null; signal: string | null } & Partial<
          Awaited<Prepared["exited"]> & { reported: true }
        > = await Promise.race([
          prepared.exited,
          ...(prepared.reportsExit ? [reported] : []),
          prepared.spawnError.then((cause) => {
            throw cause;
          }),
        ]);
        const durationMs = performance.now() - started;
        if (ended.reported) {
          // Answered on the program's word only when nothing else of the run is alive; else
          // once the run has ended (the program's end ends its init, and that the rest), the
          // time limit still running.
          const others = (await cgroup?.processes())?.filter((pid) => pid !== prepared?.pid);
          if (others === undefined || others.length > 0) ended = await prepared.exited;
        }
        clearTimeout(timer);
        // Whatever ended the program, nothing it started may outlive the run.
        prepared.kill();
        // (Reported by the program itself: its init, now being killed, ends the rest.)
        if (!ended.ended && !ended.reported) await cgroup?.killAll();
        swept = ended.ended === true || !ended.reported;
        await within(
          250,
          Promise.all(
            prepared.outputs.map(
              (stream) =>
                new Promise((resolve) => {
                  if (!stream || stream.readableEnded || stream.destroyed) resolve(null);
                  else stream.once("close", resolve);
                }),
            ),
          ),
        );
        for (const stream of streams) stream?.destroy?.();
        collector.finish();
        const usage = (await cgroup?.usage()) ?? {
          cpuTimeMs: ended.usage?.cpuTimeMs ?? null,
          memoryKb: ended.usage?.memoryKb ?? null,
          oomKilled: false,
        };
        let exitCode = ended.code;
        let signal: string | null = ended.signal ?? null;
        if (reason) {
          exitCode = null;
          signal = "SIGKILL";
        } else if (prepared.sandboxed && exitCode !== null && exitCode > 128 && usage.oomKilled) {
          signal = SIGNALS[exitCode - 128] ?? `SIG${exitCode - 128}`;
          exitCode = null;
        }
        const memoryExceeded = usage.oomKilled || error?.type === "MemoryError";
        finish({
          status:
            reason ??
            (memoryExceeded ? "memory_exceeded" : exitCode === 0 ? "succeeded" : "failed"),
          exitCode,
          signal,
          stdout: collector.stdout,
          stderr: collector.stderr,
          truncated: collector.truncated,
          durationMs: Math.round(durationMs * 100) / 100,
          cpuTimeMs: usage.cpuTimeMs === null ? null : Math.round(usage.cpuTimeMs * 100) / 100,
          memoryKb: usage.memoryKb,
          ...(error ? { error } : {}),
        });
      } catch (cause) {
        clearTimeout(timer);
        if (prepared) {
          prepared.kill();
          await prepared.cgroup?.killAll();
          swept = true;
        }
        const cancelled = cause instanceof CancelledError || reason !== null;
        if (!cancelled) logger.error(`Mecha: run ${job.id} could not start: ${String(cause)}`);
        finish({
          status: reason ?? "failed",
          exitCode: null,
          signal: null,
          stdout: collector.stdout,
          stderr: cancelled
            ? collector.stderr
            : `${collector.stderr}Mecha could not start the program: ${String(cause)}\n`,
          truncated: collector.truncated,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          cpuTimeMs: null,
          memoryKb: null,
        });
      } finally {
        if (prepared) {
          const { cgroup, workdir, uid } = prepared;
          // Its uid and cgroup go to another run only once its program has ended (answered on
          // the program's word, or after a failure, it may not have yet) and nothing is left.
          const real = await within(5000, prepared.exited);
          if (!swept && !real?.ended) await cgroup?.killAll();
          // Cleanup after the answer: the run's processes are already gone.
          await cgroup?.remove().catch(() => {});
          if (workdir) await rm(workdir, { recursive: true, force: true }).catch(() => {});
          if (uid !== null) uids?.release(uid);
        }
        running.delete(tracked);
        if (usePool) setTimeout(() => refill(env), 5).unref?.();
      }
    })();

    function handleEvent(line: string): void {
      let event: {
        type?: string;
        prompt?: unknown;
        status?: unknown;
        name?: unknown;
        message?: unknown;
        line?: unknown;
        traceback?: unknown;
      };
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.type === "exited" && typeof event.status === "number") {
        reportExit(event.status & 0xff);
      } else if (event.type === "input" && typeof event.prompt === "string") {
        const prompt = event.prompt;
        // Output written before the prompt is already in its pipe: let it be read first.
        setImmediate(() => setImmediate(() => sink.input(prompt)));
      } else if (event.type === "error") {
        error = {
          type: String(event.name ?? "Exception"),
          message: String(event.message ?? ""),
          line: typeof event.line === "number" && event.line > 0 ? event.line : null,
          traceback: String(event.traceback ?? ""),
        };
      }
    }

    return {
      writeStdin,
      cancel: () => stop("cancelled"),
      done,
    };
  }

  return {
    async info(): Promise<RuntimeInfo> {
      const env = await environment;
      return { language: "python", version: env.interpreter.version, isolation: env.isolation };
    },

    start(job, sink) {
      if (closed) throw new Error("Mecha: the runtime is closed");
      const pending: Pending = { stdin: [], cancel: false };
      const done = environment.then(
        (env) => {
          if (closed) pending.cancel = true;
          pending.program = launch(env, job, sink, pending);
          return pending.program.done;
        },
        (cause): RunOutcome => ({
          status: "failed",
          exitCode: null,
          signal: null,
          stdout: "",
          stderr: `Mecha cannot run Python here: ${String((cause as Error).message ?? cause)}\n`,
          truncated: false,
          durationMs: 0,
          cpuTimeMs: null,
          memoryKb: null,
        }),
      );
      return {
        done,
        writeStdin(data, eof) {
          if (pending.program) pending.program.writeStdin(data, eof);
          else pending.stdin.push({ data, eof });
        },
        cancel() {
          if (pending.program) pending.program.cancel();
          else pending.cancel = true;
        },
      };
    },

    async close() {
      closed = true;
      for (const run of running) run.kill();
      const idle = warm.splice(0);
      await Promise.all([
        ...inFlight,
        ...[...running].map((run) => run.done),
        ...idle.map((prepared) => prepared.discard()),
      ]);
      const env = await environment.catch(() => null);
      env?.zygote?.close();
      await env?.cgroups?.close();
      if (zygoteUid !== null) uids?.release(zygoteUid);
      if (env) await rm(env.stateDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}
