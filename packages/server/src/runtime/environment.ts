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

/**
 * The allow-listed environment of every run: nothing of the server's own. `tmp` is the run's
 * temporary directory; with `matplotlib`, matplotlib's configuration and cache directory is
 * `$TMPDIR/matplotlib` (the bootstrap seeds it with the font cache built at start-up).
 */
export function runEnvironment(
  home: string,
  { tmp = "/tmp", matplotlib = false }: { tmp?: string; matplotlib?: boolean } = {},
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
