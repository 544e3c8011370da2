import type { RunCgroup } from "./cgroup";
import type { Environment } from "./environment";
import {
  CancelledError,
  goneAfterSweep,
  jobLine,
  type Launcher,
  type PreparedRun,
} from "./launcher";
import type { RuntimeSettings } from "./options";
import { makeRunDirectories, type RunDirectories } from "./runDirectories";
import { IDLE_MEMORY_BYTES } from "./spawnLauncher";
import { within } from "./streamWaits";
import type { Zygote } from "./zygote/zygote";

/**
 * How long a release waits for a run without namespaces to be gone, and for its uid's sweep: a
 * process that left the run's process group can hold a zombie of the group indefinitely.
 */
const GONE_MS = 2000;

/**
 * The zygote start-up path: each run is forked from one interpreter started once (in
 * bubblewrap, or plain without the sandbox), and isolates itself before any of its code executes
 * (see python/zygote.py). Without the sandbox the server also makes each run's directories.
 */
export function createZygoteLauncher(
  env: Environment,
  settings: RuntimeSettings,
  zygote: Zygote,
  /** The zygote's own host uid (runs' cgroup `tasks` files are given to it). */
  zygoteUid: number | null,
): Launcher {
  async function prepare(cancelled?: () => boolean): Promise<PreparedRun> {
    let cgroup: RunCgroup | null = null;
    const id = `${process.pid}-${Math.random().toString(36).slice(2, 12)}`;
    // A host uid of its own, as on the spawn path (when the server is root).
    const uid = env.uids?.acquire() ?? null;
    // The run moves itself into its cgroup as its first step, as the zygote's uid, when it may
    // (cgroup v1): the server then starts no thread-pool write for it.
    const joins = zygote.joinsCgroups;
    const runsDir = zygote.runsDir;
    let dirs: RunDirectories | null = null;
    if (runsDir !== null) {
      try {
        dirs = makeRunDirectories(runsDir, id, uid);
      } catch (cause) {
        if (uid !== null) env.uids?.release(uid);
        throw cause;
      }
    }
    if (env.cgroups) {
      cgroup = await env.cgroups
        .create(
          id,
          { memoryBytes: IDLE_MEMORY_BYTES, pids: settings.maxProcesses },
          joins ? (zygoteUid ?? undefined) : undefined,
        )
        .catch((cause) => {
          settings.logger.warn(`Mecha: could not create a cgroup for a run: ${String(cause)}`);
          return null;
        });
    }
    // Without namespaces (see python/mecha_plain_runs.py) the run is its first process's
    // process group; what leaves the group is ended by the run's cgroup where it has one, else,
    // where the run has a uid of its own, by a sweep of that uid.
    const plain = runsDir !== null;
    const sweeps = plain && uid !== null && cgroup === null;
    let swept: Promise<void> | null = null;
    const sweep = () => {
      swept ??= within(GONE_MS, zygote.sweep(uid!)).then(() => {});
      return swept;
    };
    /**
     * Once nothing of the run is left, what it held goes back: its cgroup (which ends anything
     * left in it), then without namespaces every process of its uid (where no cgroup held them)
     * and its directories, and last the uid, to another run.
     */
    const releaseHeld = async () => {
      await cgroup?.remove().catch(() => {});
      if (sweeps) await sweep();
      await dirs?.remove().catch(() => {});
      if (uid !== null) env.uids?.release(uid);
    };
    try {
      if (cancelled?.()) throw new CancelledError();
      const joined = cgroup !== null && joins;
      // The run's program starts only once its job arrives, after this placement.
      const run = await zygote.fork(
        {
          id,
          cgroup: joined ? cgroup!.name : null,
          inotify: [env.shares.inotifyInstances, env.shares.inotifyWatches],
        },
        uid,
        async (hostPid) => {
          if (cgroup && !joins) await cgroup.add(hostPid);
        },
        // The run's program, alone in its cgroup until its job arrives: finding it there is
        // also the proof that it joined.
        joined
          ? async () => {
              const pids = await cgroup!.processes();
              if (pids.length !== 1) throw new Error("the run is not alone in its cgroup");
              return pids[0] ?? null;
            }
          : null,
      );
      const streams = [run.stdin, run.stdout, run.stderr, run.job, run.events];
      let dead = false;
      void run.exited.then(() => {
        dead = true;
      });
      const kill = () => {
        run.kill();
        if (sweeps) void sweep();
      };
      // The zygote knows of the process group only: a process that left it may be in the run's
      // cgroup, and, where there is none, only a sweep of the run's uid can end it.
      const exited = !plain
        ? run.exited
        : run.exited.then((exit) =>
            exit?.alone && (sweeps || (cgroup?.tasks() ?? 0) > 0)
              ? { ...exit, alone: false }
              : exit,
          );
      const prepared: PreparedRun = {
        stdin: run.stdin,
        stdout: run.stdout,
        stderr: run.stderr,
        events: run.events,
        cgroup,
        // Without namespaces, a user of its own only when the server gave it a uid.
        ownUser: runsDir === null || uid !== null,
        jobObject: false,
        exited,
        get gone() {
          return goneAfterSweep(run.gone, swept);
        },
        get dead() {
          return dead;
        },
        sendJob(job) {
          run.job.end(jobLine(job));
        },
        openSession(job) {
          run.job.write(jobLine(job));
          return run.job;
        },
        kill,
        async release() {
          kill();
          // In the sandbox the run is its pid namespace, which the kernel ends whole; without,
          // a process outside the group can hold a zombie of it indefinitely.
          await (plain ? within(GONE_MS, prepared.gone) : run.gone);
          for (const stream of streams) stream.destroy();
          // Reaped: nothing of the run is left in its cgroup but what the kernel still frees.
          await releaseHeld();
        },
      };
      return prepared;
    } catch (cause) {
      await releaseHeld();
      throw cause;
    }
  }

  return { name: "zygote", prepare, close: () => zygote.close() };
}
