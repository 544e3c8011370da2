import type { RunFile } from "@mecha/protocol";
import type { KernelShares } from "./kernelShares";
import type { JobDocument, PreparedRun, RunNetwork } from "./launcher";
import type { RuntimeSettings } from "./options";
import type { Limits } from "./types";

const MiB = 1024 * 1024;
/** Address space on top of `memoryMb` where an rlimit stands in for a cgroup (stacks, maps). */
const ADDRESS_SPACE_HEADROOM = 256 * MiB;
/**
 * The least address space a run gets where an rlimit stands in for a cgroup: numpy, pandas and
 * matplotlib together reserve about 300 MiB (OpenBLAS maps its buffers at its first call, and
 * spins forever, rather than fail, when it cannot).
 */
const ADDRESS_SPACE_FLOOR = 512 * MiB;

/** What a job is given besides its program: its interpreter, its kernel shares, its network. */
export interface JobPlace {
  prepared: PreparedRun;
  shares: KernelShares;
  network: RunNetwork;
}

/** What a job document says of the program (the rest is the place's and the limits'). */
export interface JobProgram {
  code: string;
  files: RunFile[];
  args: string[];
  interactive: boolean;
  returnFiles: string[];
  /** Marks where each display falls in stdout and stderr (see `OutputOrder`). */
  marker: string;
  /** A session: no CPU-time rlimit (it lives across runs; each run has its time limit). */
  session?: boolean;
}

/**
 * The job as the bootstrap reads it on fd 3: the program, its rlimits, and where it runs; for a
 * run in a Windows job object (which stands in for rlimits there), the job's limits (see
 * python/mecha_windows.py).
 */
export function jobDocument(
  program: JobProgram,
  limits: Limits,
  { prepared, shares, network }: JobPlace,
  settings: RuntimeSettings,
): JobDocument {
  const { session, ...rest } = program;
  return {
    ...rest,
    main: "main.py",
    limits: {
      // Memory is the cgroup's (or the job object's) to limit; an address-space limit only
      // stands in without one.
      as:
        prepared.cgroup || prepared.jobObject || process.platform === "darwin"
          ? undefined
          : Math.max(limits.memoryMb * MiB + ADDRESS_SPACE_HEADROOM, ADDRESS_SPACE_FLOOR),
      cpu: session ? undefined : Math.ceil(limits.timeoutMs / 1000) + 1,
      fsize: settings.maxFileBytes,
      nofile: settings.maxOpenFiles,
      // Counted per user: only meaningful when the run has a user of its own.
      nproc: prepared.ownUser ? settings.maxProcesses : undefined,
      core: 0,
      sigpending: prepared.ownUser ? shares.sigpending : undefined,
      msgqueue: prepared.ownUser ? shares.msgqueue : undefined,
    },
    network,
    fileBytes: limits.outputBytes,
    ...(session ? { session: true } : {}),
    ...(prepared.jobObject
      ? {
          windows: { memoryBytes: limits.memoryMb * MiB, processes: settings.maxProcesses },
        }
      : {}),
  };
}
