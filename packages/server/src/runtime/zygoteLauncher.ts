import type { RunCgroup } from "./cgroup";
import type { Environment } from "./environment";
import { CancelledError, type Launcher, type PreparedRun } from "./launcher";
import type { RuntimeSettings } from "./options";
import { IDLE_MEMORY_BYTES } from "./spawnLauncher";
import type { Zygote } from "./zygote/zygote";

/**
 * The zygote start-up path: each run is forked from one interpreter started once in bubblewrap,
 * and isolates itself before any of its code executes (see python/zygote.py).
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
    const releaseHeld = async () => {
      await cgroup?.remove().catch(() => {});
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
      return {
        stdin: run.stdin,
        stdout: run.stdout,
        stderr: run.stderr,
        events: run.events,
        cgroup,
        ownUser: true,
        jobObject: false,
        exited: run.exited,
        gone: run.gone,
        get dead() {
          return dead;
        },
        sendJob(job) {
          run.job.end(JSON.stringify(job));
        },
        openSession(job) {
          run.job.write(`${JSON.stringify(job)}\n`);
          return run.job;
        },
        kill: run.kill,
        async release() {
          run.kill();
          await run.gone;
          for (const stream of streams) stream.destroy();
          // Reaped: nothing of the run is left in its cgroup but what the kernel still frees.
          await cgroup?.remove().catch(() => {});
          if (uid !== null) env.uids?.release(uid);
        },
      };
    } catch (cause) {
      await releaseHeld();
      throw cause;
    }
  }

  return { name: "zygote", prepare, close: () => zygote.close() };
}
