/**
 * The zygote's wire format (python/zygote.py speaks the other side): requests are lines of
 * words, replies JSON lines. Every message the two sides exchange is listed in
 * python/zygote_protocol.json, which both test suites read.
 */

/** What a run's id and cgroup name may be made of: they travel as words. */
export const NAME = /^[\w-]+$/;

export interface ForkRequest {
  id: string;
  /** Size of each of the run's tmpfs (/workspace, /tmp, /dev/shm), in bytes. */
  disk: number;
  /**
   * The run's uid: in a sandboxed zygote's user namespace (1-based), or on the host for a plain
   * zygote; null for the zygote's own.
   */
  uid: number | null;
  /** The cgroup the run moves itself into (see `cgroupParents`), or null. */
  cgroup: string | null;
  /** The cap on inotify instances and watches in the run's own user namespace. */
  inotify: [instances: number, watches: number];
}

export type ZygoteRequest =
  | ({ op: "fork" } & ForkRequest)
  | { op: "kill"; id: string }
  /** A plain zygote kills every process of a run's host uid (see python/mecha_plain_runs.py). */
  | { op: "sweep"; uid: number };

/** A request as the line the zygote reads ("-" for a value not given). */
export function formatRequest(request: ZygoteRequest): string {
  if (request.op === "sweep") {
    if (!Number.isInteger(request.uid) || request.uid <= 0) {
      throw new Error(`not a run's uid: ${JSON.stringify(request.uid)}`);
    }
    return `sweep ${request.uid}\n`;
  }
  if (!NAME.test(request.id)) throw new Error(`not a run id: ${JSON.stringify(request.id)}`);
  if (request.op === "kill") return `kill ${request.id}\n`;
  const { id, disk, uid, cgroup, inotify } = request;
  if (cgroup !== null && !NAME.test(cgroup)) {
    throw new Error(`not a cgroup name: ${JSON.stringify(cgroup)}`);
  }
  const numbers = [disk, ...inotify, ...(uid === null ? [] : [uid])];
  if (!numbers.every((value) => Number.isInteger(value) && value >= 0)) {
    throw new Error(`not a fork request: ${JSON.stringify(request)}`);
  }
  return `fork ${id} ${disk} ${uid ?? "-"} ${cgroup ?? "-"} ${inotify[0]} ${inotify[1]}\n`;
}

/** The server's ends of a forked run's pipes, as descriptors of the run's first process. */
export interface RunDescriptors {
  stdin: number;
  stdout: number;
  stderr: number;
  job: number;
  events: number;
}

export type ZygoteReply =
  | { type: "hello"; pid: number }
  | {
      type: "ready";
      id: string;
      pid: number;
      fds: RunDescriptors;
      /**
       * The run's pipes are named pipes in its working directory (`.mecha-<name>`), not U's
       * descriptors `fds` to open through /proc/<pid>/fd (a plain zygote where there is no
       * /proc: macOS).
       */
      fifos: boolean;
    }
  | { type: "failed"; id: string; message: string }
  | {
      type: "exit";
      id: string;
      /** The program's wait(2) status. */
      status: number;
      /** CPU seconds of the program and the children it waited for (rusage). */
      cpu: number;
      /** Its peak resident memory, KiB. */
      maxrss: number;
      /** Nothing else of the run was left running (the zygote has ended the run). */
      alone: boolean;
    }
  | { type: "reaped"; id: string; status: number }
  | { type: "swept"; uid: number };

const isInt = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= 0;
const isId = (value: unknown): value is string => typeof value === "string" && NAME.test(value);

/** A reply line, validated; null for anything that is not one (nothing of it is trusted). */
export function parseReply(line: string): ZygoteReply | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  switch (value.type) {
    case "hello":
      return isInt(value.pid) ? { type: "hello", pid: value.pid } : null;
    case "ready": {
      const fds = value.fds as Record<string, unknown> | undefined;
      const names = ["stdin", "stdout", "stderr", "job", "events"] as const;
      if (!isId(value.id) || !isInt(value.pid) || !fds || !names.every((n) => isInt(fds[n]))) {
        return null;
      }
      const picked = Object.fromEntries(names.map((n) => [n, fds[n]])) as unknown as RunDescriptors;
      if (value.fifos !== undefined && value.fifos !== true) return null;
      return { type: "ready", id: value.id, pid: value.pid, fds: picked, fifos: !!value.fifos };
    }
    case "failed":
      return isId(value.id)
        ? { type: "failed", id: value.id, message: String(value.message ?? "") }
        : null;
    case "exit":
      if (!isId(value.id) || !isInt(value.status) || typeof value.cpu !== "number") return null;
      if (!isInt(value.maxrss) || typeof value.alone !== "boolean") return null;
      return {
        type: "exit",
        id: value.id,
        status: value.status,
        cpu: value.cpu,
        maxrss: value.maxrss,
        alone: value.alone,
      };
    case "reaped":
      return isId(value.id) && isInt(value.status)
        ? { type: "reaped", id: value.id, status: value.status }
        : null;
    case "swept":
      return isInt(value.uid) ? { type: "swept", uid: value.uid } : null;
    default:
      return null;
  }
}
