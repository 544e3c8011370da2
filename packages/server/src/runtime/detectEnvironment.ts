import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CgroupManager, createCgroupManager } from "./cgroup";
import { type Environment, runEnvironment } from "./environment";
import { explainSandboxFailure } from "./explainSandboxFailure";
import { findPython } from "./findPython";
import { interpreterBinds } from "./interpreterBinds";
import { kernelShares, readHostLimits } from "./kernelShares";
import type { Launcher } from "./launcher";
import type { RuntimeSettings } from "./options";
import { createPlainZygoteLauncher } from "./plainZygote";
import {
  forkedPreloadWarning,
  processIsolationWarning,
  windowsIsolationWarning,
} from "./processIsolation";
import { PYTHON_FILES } from "./pythonFiles";
import { unmountBelow } from "./runsTmpfs";
import { findBwrap, interpreterEtc, SANDBOX_WORKDIR, writeSandboxEtc } from "./sandbox";
import { seccompFilter } from "./seccompFilter";
import { createSpawnLauncher } from "./spawnLauncher";
import { makeTempDirectory, sweepStaleDirectories } from "./stateDirectory";
import { runThrough, surveyInterpreter } from "./surveyInterpreter";
import { claimUids, type UidClaim, UidPool } from "./uidPool";
import { Zygote } from "./zygote/zygote";
import { createZygoteLauncher } from "./zygoteLauncher";

/**
 * Writes the files a run executes into the server's state directory, which every run uid can
 * read (the package itself may live where they cannot: under /root, or a 0700 checkout).
 */
async function installBootstrap(stateDir: string): Promise<string> {
  const dir = join(stateDir, "python");
  await mkdir(dir, { mode: 0o755 });
  for (const [name, text] of Object.entries(PYTHON_FILES)) {
    await writeFile(join(dir, name), text, { mode: 0o644 });
  }
  // Mounted over what a run may not read of the host's /proc (see HIDDEN_PROC_FILES).
  await writeFile(join(dir, "empty"), "", { mode: 0o644 });
  return dir;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** What a runtime runs programs with, and what to release when it closes. */
export interface Detected {
  env: Environment;
  launcher: Launcher;
  close(): Promise<void>;
}

/**
 * The survey did not run though programs do: no packages are listed, and modules to preload
 * cannot be checked, so a server asked to preload does not start.
 */
function unlisted(problem: string, settings: RuntimeSettings): void {
  if (settings.preload.length > 0) {
    throw new Error(
      `Mecha: could not check the modules to preload (${settings.preload.join(", ")}): ${problem}`,
    );
  }
  settings.logger.warn(`Mecha: could not list the interpreter's packages (${problem}).`);
}

/** Runs one small program through a launcher: null when it behaves, else what went wrong. */
async function probe(launcher: Launcher, env: Environment, settings: RuntimeSettings) {
  const outcome = await runThrough(launcher, env, settings, {
    name: "probe",
    code: "import os\nprint(os.getcwd())",
    limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 4096 },
  });
  const expected = env.bwrap ? SANDBOX_WORKDIR : null;
  if (outcome.status === "succeeded" && (!expected || outcome.stdout.trim() === expected)) {
    return null;
  }
  return (outcome.stderr || outcome.stdout || `exit ${outcome.exitCode}`).trim().slice(0, 500);
}

/**
 * Surveys the interpreter through `launcher` (see surveyInterpreter) into `env`: null when it
 * ran, else what went wrong. Rejects when a module to preload does not import.
 */
async function survey(launcher: Launcher, env: Environment, settings: RuntimeSettings) {
  const found = await surveyInterpreter(launcher, env, settings);
  if ("problem" in found) return found.problem;
  env.packages = found.survey.packages;
  env.matplotlib = found.survey.matplotlib;
  return null;
}

/** Where runs without the sandbox may fork from a zygote (see unsandboxedLauncher). */
const ZYGOTE_PLATFORMS: readonly NodeJS.Platform[] = ["linux", "darwin"];

/**
 * The start-up path without the sandbox: runs forked from a zygote of their own kind (see
 * plainZygote.ts) unless `startup: "spawn"` or that zygote does not work here, else a fresh
 * interpreter per run. Says, loudly, what holds and what a run can still reach.
 */
async function unsandboxedLauncher(
  env: Environment,
  settings: RuntimeSettings,
  because: string | null,
): Promise<Launcher> {
  // The filter of runs without the sandbox, on either start-up path: the host's network allowed.
  env.seccompFile =
    process.platform === "linux"
      ? await seccompFilter(env.interpreter.executable, env.stateDir, { hostNetwork: true })
      : null;
  if (process.platform === "linux" && !env.seccompFile) {
    settings.logger.warn(
      "Mecha: no seccomp filter for runs (install python3-seccomp); runs start without one.",
    );
  }
  const spawned = createSpawnLauncher(env, settings);
  // What runs can import, before the zygote imports what it preloads.
  const problem = await survey(spawned, env, settings);
  if (problem) unlisted(problem, settings);
  let launcher: Launcher = spawned;
  // Linux, and macOS, where the server opens a run's pipes by name instead of through
  // /proc/<pid>/fd (see ZygoteProcess.fork); not as root there, where runs get no uid of their
  // own and a zygote running as root forks none. Where the zygote fails its first run (the
  // probe), a fresh interpreter per run, as before.
  const forks =
    ZYGOTE_PLATFORMS.includes(process.platform) && (process.platform === "linux" || !isRoot());
  if (settings.startup === "zygote" && forks) {
    const plain = await createPlainZygoteLauncher(env, settings);
    const failure = await probe(plain.launcher, env, settings);
    if (failure) {
      plain.launcher.close();
      settings.logger.warn(
        `Mecha: the zygote start-up path failed (${failure}); starting a fresh interpreter for each run instead.`,
      );
    } else {
      launcher = plain.launcher;
    }
  }
  settings.logger.warn(
    process.platform === "win32"
      ? windowsIsolationWarning(because)
      : processIsolationWarning(because, {
          forked: launcher.name === "zygote",
          ownUid: env.uids !== null,
          cgroups: env.cgroups !== null,
          seccomp: env.seccompFile !== null,
        }),
  );
  return launcher;
}

/**
 * Finds what isolation this host gives (once): the interpreter, cgroups, bubblewrap and its
 * seccomp filter, uids for runs when root, then the start-up path, each tried with a real
 * program. The policy: the zygote when it works, else bubblewrap per run, else (unless the
 * sandbox is required) process isolation with a loud warning: runs forked from a zygote without
 * namespaces when it works, else a fresh interpreter per run.
 */
export async function detectEnvironment(settings: RuntimeSettings): Promise<Detected> {
  const { logger } = settings;
  let stateDir: string | undefined;
  let cgroups: CgroupManager | null = null;
  let claim: UidClaim | null = null;
  let launcher: Launcher | null = null;
  /** Why there is no sandbox though `sandbox: "auto"` wanted one. */
  let unsandboxedBecause: string | null = null;
  const close = async () => {
    launcher?.close();
    await cgroups?.close().catch(() => {});
    claim?.release();
    if (stateDir) {
      unmountBelow(stateDir);
      await rm(stateDir, { recursive: true, force: true }).catch(() => {});
    }
  };
  try {
    const interpreter = await findPython(settings.python);
    sweepStaleDirectories();
    stateDir = await makeTempDirectory("mecha");
    // Run uids must read the sandbox's /etc files and seccomp filter; nothing here is secret.
    await chmod(stateDir, 0o755);
    const bootstrapDir = await installBootstrap(stateDir);
    cgroups = settings.cgroups ? await createCgroupManager() : null;
    claim = isRoot() && process.platform === "linux" ? await claimUids(settings.uidRange) : null;
    const env: Environment = {
      interpreter,
      isolation: "process",
      bwrap: null,
      seccompFile: null,
      stateDir,
      bootstrapDir,
      etcDir: join(stateDir, "etc"),
      binds: [],
      cgroups,
      uids: claim ? new UidPool(claim.start, claim.size) : null,
      shares: kernelShares(readHostLimits(), settings.concurrency),
      packages: [],
      matplotlib: false,
    };
    await writeSandboxEtc(env.etcDir, 1000, 1000);
    const bwrap = settings.sandbox !== "none" && process.platform === "linux" ? findBwrap() : null;
    if (bwrap) {
      env.bwrap = bwrap;
      env.isolation = "sandbox";
      env.binds = [
        ...interpreterBinds(interpreter, (message) => logger.warn(message)),
        ...interpreterEtc(interpreter.version),
      ];
      env.seccompFile = await seccompFilter(interpreter.executable, stateDir);
      if (!env.seccompFile) {
        logger.warn(
          "Mecha: no seccomp filter (install python3-seccomp); the sandbox runs without one.",
        );
      }
      // What runs can import, before the zygote imports what it preloads.
      const spawnLauncher = createSpawnLauncher(env, settings);
      const unsurveyed = await survey(spawnLauncher, env, settings);
      // A survey that did not run says nothing of packages until a plain program has run too.
      const unsandboxed = unsurveyed ? await probe(spawnLauncher, env, settings) : null;
      if (unsurveyed && !unsandboxed) unlisted(unsurveyed, settings);
      let problem = unsandboxed;
      if (!unsandboxed && settings.startup === "zygote") {
        await writeFile(join(bootstrapDir, "preload.json"), JSON.stringify(settings.preload), {
          mode: 0o644,
        });
        const zygoteUid = env.uids?.acquire() ?? null;
        const zygote = new Zygote({
          kind: "sandbox",
          bwrap,
          python: interpreter.executable,
          pythonPrefix: interpreter.prefix,
          bootstrapDir,
          etcDir: env.etcDir,
          binds: env.binds,
          seccompFile: env.seccompFile,
          diskBytes: settings.diskBytes,
          env: runEnvironment(SANDBOX_WORKDIR, { matplotlib: env.matplotlib }),
          uid: zygoteUid,
          runUids:
            env.uids && zygoteUid !== null ? { start: env.uids.start, size: env.uids.size } : null,
          cgroupParents: cgroups?.joinable ?? null,
          spawn: settings.spawn ?? (await import("node:child_process")).spawn,
        });
        launcher = createZygoteLauncher(env, settings, zygote, zygoteUid);
        problem = await probe(launcher, env, settings);
        if (problem) {
          launcher.close();
          launcher = null;
          if (zygoteUid !== null) env.uids?.release(zygoteUid);
          logger.warn(
            `Mecha: the zygote start-up path failed (${problem}); starting each run with bubblewrap instead.`,
          );
        }
      }
      if (!launcher && !unsandboxed) {
        launcher = spawnLauncher;
        problem = unsurveyed ? null : await probe(launcher, env, settings);
      }
      if (problem) {
        launcher = null;
        env.isolation = "process";
        env.bwrap = null;
        if (settings.sandbox === "required") {
          const why = explainSandboxFailure(problem);
          throw new Error(
            `Mecha: the bubblewrap sandbox is required but does not work here: ${problem}` +
              (why ? `. The cause: ${why}.` : '. See docs/security.md, "Deploying".'),
          );
        }
        const why = explainSandboxFailure(problem);
        unsandboxedBecause =
          `bubblewrap is installed but its sandbox failed (${problem})` +
          (why ? `; the cause: ${why}` : "");
      }
    } else if (settings.sandbox === "required") {
      throw new Error(
        "Mecha: the sandbox is required but bubblewrap (bwrap) is not available on this " +
          `${process.platform} host. ` +
          (process.platform === "linux"
            ? "Install it (apt-get install bubblewrap) or use --sandbox none."
            : "bubblewrap runs on Linux only: use --sandbox none here (see docs/platforms.md)."),
      );
    } else if (settings.sandbox === "auto") {
      unsandboxedBecause = `bubblewrap (bwrap) is not available on this ${process.platform} host`;
    }
    if (!launcher) {
      launcher = await unsandboxedLauncher(env, settings, unsandboxedBecause);
    }
    const forkedPreload = forkedPreloadWarning(
      process.platform,
      launcher.name === "zygote",
      settings.preload,
    );
    if (forkedPreload) logger.warn(forkedPreload);
    if (settings.preload.length > 0 && launcher.name !== "zygote") {
      logger.warn(
        `Mecha: preload (${settings.preload.join(", ")}) applies to the zygote start-up path ` +
          "only; each run here starts a fresh interpreter and imports what it uses.",
      );
    }
    return { env, launcher, close };
  } catch (cause) {
    // A start that fails (a required sandbox that does not work, say) leaves nothing behind.
    await close();
    throw cause;
  }
}
