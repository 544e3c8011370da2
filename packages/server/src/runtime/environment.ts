import type { RuntimePackage } from "@mecha/protocol";
import type { CgroupManager } from "./cgroup";
import type { PythonInterpreter } from "./findPython";
import type { KernelShares } from "./kernelShares";
import type { RunNetwork } from "./launcher";
import type { UidPool } from "./uidPool";

/** What this host can do for runs, found once at start-up (see `detectEnvironment`). */
export interface Environment {
  interpreter: PythonInterpreter;
  isolation: "sandbox" | "process";
  /** bubblewrap, when the sandbox works here. */
  bwrap: string | null;
  /**
   * The seccomp filter (BPF) runs load: the sandbox's, or without the sandbox on Linux one that
   * leaves the host's network to the run (see `unsandboxedLauncher`); null where there is none.
   */
  seccompFile: string | null;
  /** The server's own directory for this runtime (removed on close). */
  stateDir: string;
  /** The bootstrap's files as runs read them. */
  bootstrapDir: string;
  /** The sandbox's own /etc files. */
  etcDir: string;
  /** Read-only binds the sandbox adds for the interpreter (source, target). */
  binds: (readonly [string, string])[];
  cgroups: CgroupManager | null;
  /** Host uids for runs (and the zygote), when the server is root. */
  uids: UidPool | null;
  /** Each run's share of the per-user kernel counters. */
  shares: KernelShares;
  /** The distributions a program can import, as the survey found them at start-up. */
  packages: RuntimePackage[];
  /** matplotlib is installed, and its font cache built (see `runEnvironment`). */
  matplotlib: boolean;
}

/** What a run can reach from where it runs (the bootstrap explains what it cannot). */
export function runNetwork(env: Environment): RunNetwork {
  if (env.isolation !== "sandbox") return "host";
  return env.seccompFile ? "unix" : "none";
}

/** Threads a numerical library may start per run (BLAS, OpenMP): see `runEnvironment`. */
export const MATH_THREADS = "1";

/** What CPython and the programs it starts need of the host's environment on Windows; no secrets. */
const WINDOWS_SYSTEM_VARIABLES = [
  // Without SYSTEMROOT, CPython's random numbers, sockets (Winsock) and asyncio fail to start.
  "SYSTEMROOT",
  "WINDIR",
  "SYSTEMDRIVE",
  // What subprocess's shell=True and shutil.which use.
  "COMSPEC",
  "PATHEXT",
  // platform.machine() reads it.
  "PROCESSOR_ARCHITECTURE",
  "NUMBER_OF_PROCESSORS",
  "PATH",
];

/** Where the run environment is made: the platform, and the host's variables (on Windows). */
export interface RunEnvironmentHost {
  tmp?: string;
  matplotlib?: boolean;
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** @default process.env */
  hostEnv?: NodeJS.ProcessEnv;
}

/**
 * The allow-listed environment of every run: nothing of the server's own. `tmp` is the run's
 * temporary directory; with `matplotlib`, matplotlib's configuration and cache directory is
 * `$TMPDIR/matplotlib` (the bootstrap seeds it with the font cache built at start-up). On
 * Windows, the run also gets the system variables CPython cannot start without, its own
 * directories as USERPROFILE, TEMP and TMP, and UTF-8 for its standard streams and files (the
 * job's files and the protocol are UTF-8; Windows' default is the ANSI code page).
 */
export function runEnvironment(
  home: string,
  {
    tmp = "/tmp",
    matplotlib = false,
    platform = process.platform,
    hostEnv = process.env,
  }: RunEnvironmentHost = {},
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TMPDIR: tmp,
    // BLAS and OpenMP start one thread per host core otherwise, at import: past the run's
    // process cap on a large host, and not safe to fork from in a zygote that preloads them.
    OPENBLAS_NUM_THREADS: MATH_THREADS,
    OMP_NUM_THREADS: MATH_THREADS,
    MKL_NUM_THREADS: MATH_THREADS,
  };
  if (matplotlib) env.MPLCONFIGDIR = `${tmp}/matplotlib`;
  if (platform === "win32") {
    for (const key of WINDOWS_SYSTEM_VARIABLES) {
      const value = hostEnv[key];
      if (value) env[key] = value;
    }
    // os.path.expanduser and tempfile's fallbacks read these on Windows, not HOME.
    env.USERPROFILE = home;
    env.TEMP = tmp;
    env.TMP = tmp;
    env.PYTHONIOENCODING = "utf-8";
    env.PYTHONUTF8 = "1";
  }
  return env;
}
