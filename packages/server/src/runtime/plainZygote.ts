import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Environment, runEnvironment } from "./environment";
import type { Launcher } from "./launcher";
import type { RuntimeSettings } from "./options";
import { mountRunsTmpfs } from "./runsTmpfs";
import { Zygote } from "./zygote/zygote";
import { createZygoteLauncher } from "./zygoteLauncher";

/** Files (and hard links) per run the runs' tmpfs holds, as each of a sandboxed run's tmpfs. */
const INODES_PER_RUN = 65_536;

/**
 * The zygote start-up path without the sandbox (where bubblewrap is missing or not wanted):
 * one interpreter, started once as the server's own user, forks each run without namespaces
 * (see python/mecha_plain_runs.py). Each run's directories are made under `<state>/runs`: a
 * tmpfs of the server's where it may mount one (two `diskBytes` per run at once, together).
 */
export async function createPlainZygoteLauncher(
  env: Environment,
  settings: RuntimeSettings,
): Promise<{ launcher: Launcher; tmpfs: boolean }> {
  const runsDir = join(env.stateDir, "runs");
  // Each run uid reaches its own directories there, and lists nobody's.
  await mkdir(runsDir, { mode: 0o711 });
  const { diskBytes, concurrency } = settings;
  const tmpfs = mountRunsTmpfs(runsDir, 2 * diskBytes * concurrency, INODES_PER_RUN * concurrency);
  if (!tmpfs) await chmod(runsDir, 0o711);
  // The zygote's own $HOME and $TMPDIR (each run gets its own): what it preloads may write there.
  const home = join(env.stateDir, "zygote");
  await mkdir(home, { mode: 0o755 });
  // The filter of runs without the sandbox (see unsandboxedLauncher).
  const { seccompFile } = env;
  await writeFile(join(env.bootstrapDir, "preload.json"), JSON.stringify(settings.preload), {
    mode: 0o644,
  });
  const zygote = new Zygote({
    kind: "plain",
    python: env.interpreter.executable,
    bootstrapDir: env.bootstrapDir,
    seccompFile,
    env: runEnvironment(home, { tmp: home, matplotlib: env.matplotlib }),
    cgroupParents: env.cgroups?.joinable ?? null,
    spawn: settings.spawn ?? (await import("node:child_process")).spawn,
    runsDir,
    runUids: env.uids ? { start: env.uids.start, size: env.uids.size } : null,
  });
  return {
    launcher: createZygoteLauncher(env, settings, zygote, null),
    tmpfs,
  };
}
