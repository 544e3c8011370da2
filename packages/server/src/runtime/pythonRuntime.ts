import { rmSync } from "node:fs";
import type { RuntimeInfo, RuntimePackage } from "@mecha/protocol";
import { type Detected, detectEnvironment } from "./detectEnvironment";
import { runNetwork } from "./environment";
import { type RuntimeOptions, resolveRuntimeOptions } from "./options";
import { RunExecution } from "./runExecution";
import { unmountBelow } from "./runsTmpfs";
import { openPythonSession, type PythonSession } from "./session/pythonSession";
import type {
  RunJob,
  RunningProgram,
  RunSink,
  Runtime,
  RuntimeSession,
  SessionSpec,
} from "./types";
import { WarmPool } from "./warmPool";

/** A runtime that can also be asked to get ready ahead of its first run. */
export interface PythonRuntime extends Runtime {
  /** Starts what runs need (interpreter, sandbox, zygote, warm interpreters); rejects if none can run. */
  ready(): Promise<void>;
}

/**
 * Creates the Python runtime. It starts nothing until it is first needed (`ready()`, `info()`
 * or a run): then it finds what this host can do (see detectEnvironment), keeps warm
 * interpreters, and runs each job as a `RunExecution`.
 */
export function createPythonRuntime(
  options: RuntimeOptions = {},
  platform: NodeJS.Platform = process.platform,
): PythonRuntime {
  const settings = resolveRuntimeOptions(options);
  // A session keeps its interpreter between runs with fork() and select() on pipes
  // (python/mecha_session.py), which Windows does not have.
  const sessionsHere = platform !== "win32";
  let started: Promise<{ detected: Detected; pool: WarmPool }> | null = null;
  let closed = false;
  const running = new Set<RunExecution>();
  const sessions = new Set<PythonSession>();

  /**
   * When the process exits without close() (a host with no SIGTERM handler of its own, say):
   * what can be done at once, is. Sandboxed runs end with the server regardless (bubblewrap's
   * --die-with-parent); the state directory would be swept by the next server otherwise.
   */
  let stateDir: string | null = null;
  const onExit = () => {
    for (const run of running) run.cancel();
    for (const session of sessions) void session.close();
    if (stateDir) {
      unmountBelow(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  };

  function start(): Promise<{ detected: Detected; pool: WarmPool }> {
    started ??= detectEnvironment(settings).then((detected) => {
      stateDir = detected.env.stateDir;
      process.once("exit", onExit);
      const pool = new WarmPool(detected.launcher, settings.warmPool, settings.logger);
      // Filled as soon as the runtime is ready, so the first run does not wait either.
      pool.refill();
      return { detected, pool };
    });
    return started;
  }

  async function openSession(spec: SessionSpec): Promise<RuntimeSession> {
    if (closed) throw new Error("Mecha: the runtime is closed");
    let ready: Awaited<ReturnType<typeof start>>;
    try {
      ready = await start();
    } catch (cause) {
      throw new Error(`Mecha cannot run Python here: ${(cause as Error).message ?? cause}`);
    }
    const prepared = ready.pool.take() ?? (await ready.detected.launcher.prepare());
    if (!closed) setImmediate(() => ready.pool.refill());
    const { env } = ready.detected;
    let opened: PythonSession | null = null;
    const refill = () => {
      if (opened) sessions.delete(opened);
    };
    opened = await openPythonSession(spec, {
      settings,
      place: { prepared, shares: env.shares, network: runNetwork(env) },
      finished: refill,
    });
    if (closed) {
      await opened.close();
      throw new Error("Mecha: the runtime is closed");
    }
    if (!opened.lost) sessions.add(opened);
    return opened;
  }

  return {
    async ready() {
      await start();
    },

    features: sessionsHere ? ["displays", "files", "sessions"] : ["displays", "files"],
    ...(sessionsHere ? { openSession } : {}),

    async packages(): Promise<RuntimePackage[]> {
      const { detected } = await start();
      return detected.env.packages;
    },

    async info(): Promise<RuntimeInfo> {
      const { detected } = await start();
      const { env } = detected;
      return { language: "python", version: env.interpreter.version, isolation: env.isolation };
    },

    start(job: RunJob, sink: RunSink): RunningProgram {
      if (closed) throw new Error("Mecha: the runtime is closed");
      const starting = start();
      starting.catch(() => {});
      const execution: RunExecution = new RunExecution(job, sink, {
        settings,
        async acquire(cancelled) {
          let ready: Awaited<typeof starting>;
          try {
            ready = await starting;
          } catch (cause) {
            throw new Error(`Mecha cannot run Python here: ${(cause as Error).message ?? cause}`);
          }
          const prepared = ready.pool.take() ?? (await ready.detected.launcher.prepare(cancelled));
          const { env } = ready.detected;
          return { prepared, shares: env.shares, network: runNetwork(env) };
        },
        finished() {
          running.delete(execution);
          // After this run's answer has gone out: starting a process blocks the event loop for
          // a few milliseconds (the fork copies the server), which its output must not wait for.
          if (!closed)
            setImmediate(
              () =>
                void starting.then(
                  ({ pool }) => pool.refill(),
                  () => {},
                ),
            );
        },
      });
      running.add(execution);
      return execution;
    },

    async close() {
      closed = true;
      const runs = [...running];
      for (const run of runs) run.cancel();
      await Promise.all([
        ...runs.map((run) => run.settled),
        ...[...sessions].map((s) => s.close()),
      ]);
      if (!started) return;
      const ready = await started.catch(() => null);
      if (!ready) return;
      await ready.pool.close();
      await ready.detected.close();
      process.removeListener("exit", onExit);
    },
  };
}
