import type { CgroupManager } from "./cgroup";
import type { PythonInterpreter } from "./findPython";
import type { KernelShares } from "./kernelShares";
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
}

/** The allow-listed environment of every run: nothing of the server's own. */
export function runEnvironment(home: string): Record<string, string> {
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
