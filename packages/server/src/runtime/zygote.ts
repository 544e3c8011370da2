import type { ChildProcess, SpawnOptions } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import type { Readable, Writable } from "node:stream";
import { PipeWriter } from "./pipeWriter";
import { bwrapArgs, SANDBOX_BOOTSTRAP_DIR, SANDBOX_FDS } from "./sandbox";

type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface ZygoteConfig {
  bwrap: string;
  python: string;
  pythonPrefix: string;
  bootstrapDir: string;
  etcDir: string;
  seccompFile: string | null;
  diskBytes: number;
  /** Environment of the zygote and so of every run (allow-listed by the caller). */
  env: Record<string, string>;
  /** Host uid and gid the zygote runs as when the server is root. */
  uid: number | null;
  /**
   * Host uids runs may be given, one per run (`uid` outside them): the server, as root, maps
   * them into the zygote's user namespace, where run k (1-based) is uid k. Null: every run is the
   * zygote's own uid on the host, as when the server is not root.
   */
  runUids: { start: number; size: number } | null;
  /**
   * Directories a run's cgroups are made in (one per hierarchy; see `CgroupManager.joinable`):
   * each run moves itself into its cgroups, as its first step, through descriptors of these.
   * Null: the server moves each run.
   */
  cgroupParents: readonly string[] | null;
  spawn: Spawner;
}

/** How a run ended: its program's wait status and usage, once no process of the run is left. */
export interface ZygoteExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** CPU time and peak RSS of the program and the children it waited for (wait4 rusage). */
  cpuTimeMs: number | null;
  memoryKb: number | null;
  /** The zygote reaped the run's init: no process of the run is left. */
  ended: boolean;
}

/** One forked run: isolated, in its cgroup, its program waiting for the job on fd 3. */
export interface ZygoteRun {
  hostPid: number;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  job: Writable;
  events: Readable;
  exited: Promise<ZygoteExit>;
  /** Ends the run's whole process tree (the zygote kills its init, the kernel the rest of it). */
  kill(): void;
}

interface Forked {
  /** The run's program (U), by its pid in the zygote's pid namespace. */
  program: number;
  /** U's ends of the run's pipes, by name. */
  fds: Record<string, number>;
}

interface Pending {
  resolve: (value: Forked) => void;
  fail: (error: Error) => void;
  exit: (value: ZygoteExit) => void;
  exited: boolean;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

const KILLED: ZygoteExit = {
  code: null,
  signal: "SIGKILL",
  cpuTimeMs: null,
  memoryKb: null,
  ended: false,
};

function decodeStatus(status: number): Pick<ZygoteExit, "code" | "signal"> {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(signal) ?? "SIGKILL" };
}

/** The host pid of a child of `parent` whose pid in the zygote's pid namespace is `nsPid`. */
function hostPidOf(parent: number, nsPid: number): number | null {
  let children: string;
  try {
    children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8");
  } catch {
    return null;
  }
  const candidates = children.trim().split(/\s+/).filter(Boolean).map(Number).reverse();
  for (const pid of candidates) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /\nNSpid:\s+(\d+)\s+(\d+)/.exec(status);
      if (match && Number(match[2]) === nsPid) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

const USERNS_BLOCK_FD = 7;
/** What a run's id and cgroup name may be made of (they travel as words, see zygote.py). */
const NAME = /^[\w-]+$/;
/** The zygote finds the directories of `cgroupParents` on fds 8 on (see zygote.py). */
const CGROUP_PARENTS_MAX = 3;

/**
 * The zygote's uid (and gid) map when the server is root: 0 is the zygote's own host uid, and
 * k >= 1 is host uid `start + k - 1`, for every uid of the range but the zygote's.
 */
export function idMap(zygote: number, range: { start: number; size: number }): string {
  const lines = [`0 ${zygote} 1`];
  const end = range.start + range.size;
  if (zygote < range.start || zygote >= end) {
    lines.push(`1 ${range.start} ${range.size}`);
  } else {
    if (zygote > range.start) lines.push(`1 ${range.start} ${zygote - range.start}`);
    if (zygote + 1 < end)
      lines.push(`${zygote - range.start + 2} ${zygote + 1} ${end - zygote - 1}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A live zygote process and the runs it has forked. */
class ZygoteProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  private control: Writable;
  private pending = new Map<string, Pending>();
  private buffer = "";
  private hostPid: number | null = null;
  dead = false;

  constructor(config: ZygoteConfig) {
    let seccompFd: number | null = null;
    const parents = (config.cgroupParents ?? []).slice(0, CGROUP_PARENTS_MAX);
    const parentFds: number[] = [];
    if (config.seccompFile) seccompFd = openSync(config.seccompFile, "r");
    const args = [
      ...bwrapArgs(
        {
          pythonPrefix: config.pythonPrefix,
          bootstrapDir: config.bootstrapDir,
          etcDir: config.etcDir,
        },
        { diskBytes: 1 << 20 },
        config.env,
        { seccomp: false, block: false, zygote: true },
      ),
      // bubblewrap waits for the server to write the user namespace's uid and gid maps.
      ...(config.runUids ? ["--userns-block-fd", String(USERNS_BLOCK_FD)] : []),
      // Root of its own user namespace (mapped to the unprivileged host uid), so that bubblewrap
      // makes one user namespace only, the one owning the zygote's pid namespace: the zygote
      // may then fork each run into a pid namespace of its own. Runs are uid 1000 in theirs.
      "--uid",
      "0",
      "--gid",
      "0",
      "--",
      config.python,
      "-E",
      "-s",
      "-u",
      `${SANDBOX_BOOTSTRAP_DIR}/zygote.py`,
    ];
    try {
      for (const dir of parents) {
        parentFds.push(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY));
      }
      this.child = config.spawn(config.bwrap, args, {
        cwd: "/",
        env: {},
        // Pipes on 0-2 like every run's: the interpreter's stdio objects, created once here,
        // learn what their descriptors are (not seekable, not a tty) at start-up.
        stdio: [
          "pipe",
          "pipe",
          "pipe",
          "pipe",
          "pipe",
          seccompFd ?? "ignore",
          "pipe",
          config.runUids ? "pipe" : "ignore",
          ...parentFds,
        ],
        detached: true,
        ...(config.uid !== null ? { uid: config.uid, gid: config.uid } : {}),
      });
    } finally {
      if (seccompFd !== null) closeSync(seccompFd);
      for (const fd of parentFds) closeSync(fd);
    }
    const streams = this.child.stdio as unknown as (Readable & Writable)[];
    for (const stream of streams) stream?.on?.("error", () => {});
    this.control = streams[3] as Writable;
    const replies = streams[4] as Readable;
    let log = "";
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-4000);
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
    const info = streams[SANDBOX_FDS.info] as Readable;
    const hostPid = new Promise<number | null>((resolve) => {
      let text: string | null = "";
      info.setEncoding("utf8");
      info.on("data", (chunk: string) => {
        if (text === null) return;
        text += chunk;
        const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
        if (!match) return;
        text = null;
        const pid = Number(match[1]);
        if (config.runUids && config.uid !== null) {
          try {
            const map = idMap(config.uid, config.runUids);
            writeFileSync(`/proc/${pid}/uid_map`, map);
            writeFileSync(`/proc/${pid}/gid_map`, map);
          } catch (cause) {
            log += `could not map the zygote's user namespace: ${String(cause)}`;
            this.kill();
            return;
          }
          (streams[USERNS_BLOCK_FD] as Writable).end("1");
        }
        resolve(pid);
      });
      info.on("close", () => resolve(null));
    });
    let hello!: () => void;
    const greeted = new Promise<void>((resolve) => {
      hello = resolve;
    });
    replies.setEncoding("utf8");
    replies.on("data", (chunk: string) => {
      this.buffer += chunk;
      // Its lines are short: anything else means the zygote can no longer be trusted.
      if (this.buffer.length > 1 << 20) {
        this.kill();
        return;
      }
      let newline = this.buffer.indexOf("\n");
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        newline = this.buffer.indexOf("\n");
        this.handle(line, hello);
      }
    });
    const exited = new Promise<void>((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.once("error", () => resolve());
    });
    void exited.then(() => {
      this.dead = true;
      for (const [, run] of this.pending) {
        run.fail(new Error(`the zygote exited: ${log.trim().slice(-500)}`));
        if (!run.exited) {
          run.exited = true;
          run.exit(KILLED);
        }
      }
      this.pending.clear();
    });
    this.ready = Promise.race([
      Promise.all([hostPid, greeted]).then(([pid]) => {
        if (pid === null) throw new Error("bubblewrap reported no pid");
        this.hostPid = pid;
        return pid;
      }),
      exited.then(() => {
        throw new Error(`the zygote did not start: ${log.trim().slice(-500)}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the zygote did not start within 10 s")), 10_000).unref(),
      ),
    ]);
    this.ready.catch(() => this.kill());
  }

  private handle(line: string, hello: () => void): void {
    let message: {
      type?: string;
      id?: string;
      pid?: number;
      fds?: Record<string, number>;
      status?: number;
      cpu?: number;
      maxrss?: number;
      message?: string;
    };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.type === "hello") {
      hello();
      return;
    }
    const run = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!run) return;
    switch (message.type) {
      case "ready":
        run.resolve({ program: Number(message.pid), fds: message.fds ?? {} });
        break;
      case "failed":
        run.fail(new Error(`the sandbox could not be set up: ${message.message ?? ""}`));
        if (!run.exited) {
          run.exited = true;
          run.exit(KILLED);
        }
        break;
      case "exit":
        if (!run.exited) {
          run.exited = true;
          run.exit({
            ...decodeStatus(Number(message.status)),
            cpuTimeMs: typeof message.cpu === "number" ? message.cpu * 1000 : null,
            memoryKb: typeof message.maxrss === "number" ? message.maxrss : null,
            ended: true,
          });
        }
        break;
      case "reaped":
        run.fail(new Error("the run's process ended before it was ready"));
        if (!run.exited) {
          run.exited = true;
          run.exit(KILLED);
        }
        this.pending.delete(message.id!);
        break;
    }
  }

  /** A request line: words (see zygote.py), "-" for a value not given. */
  private send(...words: (string | number | null)[]): void {
    if (this.dead) return;
    this.control.write(`${words.map((word) => word ?? "-").join(" ")}\n`);
  }

  /**
   * Forks a run; `place` gets its host pid before anything of the run may execute. With
   * `cgroup` (the name of its cgroups under `cgroupParents`) the run has moved itself into them
   * before it is ready, and `locate` gives its host pid (the one process in its cgroup).
   */
  async fork(
    id: string,
    diskBytes: number,
    place: (hostPid: number) => Promise<void>,
    uid: number | null,
    cgroup: string | null,
    locate: (() => Promise<number | null>) | null,
  ): Promise<ZygoteRun> {
    if (!NAME.test(id) || (cgroup !== null && !NAME.test(cgroup))) {
      throw new Error(`not a run or cgroup name: ${JSON.stringify([id, cgroup])}`);
    }
    const zygotePid = await this.ready;
    if (this.dead) throw new Error("the zygote exited");
    let resolve!: Pending["resolve"];
    let fail!: Pending["fail"];
    let exit!: Pending["exit"];
    const readyPromise = new Promise<Forked>((done, reject) => {
      resolve = done;
      fail = reject;
    });
    readyPromise.catch(() => {});
    const exited = new Promise<ZygoteExit>((resolve) => {
      exit = resolve;
    });
    const entry: Pending = { resolve, fail, exit, exited: false };
    this.pending.set(id, entry);
    this.send("fork", id, Math.floor(diskBytes), uid, cgroup);
    let timer: NodeJS.Timeout | undefined;
    const { program, fds } = await Promise.race([
      readyPromise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the run was not ready within 10 s")), 10_000);
      }),
    ])
      .catch((cause: unknown) => {
        // Not ready in time (or failed): nothing of it may go on, whatever it is doing.
        this.send("kill", id);
        throw cause;
      })
      .finally(() => clearTimeout(timer));
    let hostPid: number | null = null;
    const opened: number[] = [];
    try {
      hostPid = (await locate?.()) ?? hostPidOf(zygotePid, program);
      if (hostPid === null) throw new Error("could not find the run's host pid");
      const open = (name: string, flags: number) => {
        const fd = openSync(`/proc/${hostPid}/fd/${fds[name]}`, flags | constants.O_NONBLOCK);
        opened.push(fd);
        return fd;
      };
      const rd = constants.O_RDONLY;
      const wr = constants.O_WRONLY;
      const fdOf = {
        stdin: open("stdin", wr),
        stdout: open("stdout", rd),
        stderr: open("stderr", rd),
        job: open("job", wr),
        events: open("events", rd),
      };
      await place(hostPid);
      const reader = (fd: number) => new Socket({ fd, readable: true, writable: false });
      const run: ZygoteRun = {
        hostPid,
        stdin: new PipeWriter(fdOf.stdin),
        stdout: reader(fdOf.stdout),
        stderr: reader(fdOf.stderr),
        job: new PipeWriter(fdOf.job),
        events: reader(fdOf.events),
        exited,
        // Through the zygote, which reaps the run's pid 1: a pid it has reaped is never signalled.
        // Once that process has ended, the kernel has ended the rest of the run with it.
        kill: () => {
          if (!entry.exited) this.send("kill", id);
        },
      };
      for (const stream of [run.stdin, run.stdout, run.stderr, run.job, run.events]) {
        stream.on("error", () => {});
      }
      return run;
    } catch (cause) {
      for (const fd of opened) {
        try {
          closeSync(fd);
        } catch {}
      }
      this.send("kill", id);
      throw cause;
    }
  }

  kill(): void {
    this.dead = true;
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      try {
        this.child.kill("SIGKILL");
      } catch {}
    }
    if (this.hostPid !== null) {
      try {
        process.kill(this.hostPid, "SIGKILL");
      } catch {}
    }
  }
}

/**
 * A zygote: one interpreter started once in bubblewrap that forks each run and isolates it
 * before any of the run's code executes (see python/zygote.py). Restarted when it dies.
 */
export class Zygote {
  private current: ZygoteProcess | null = null;
  private closed = false;

  constructor(private readonly config: ZygoteConfig) {}

  private process(): ZygoteProcess {
    if (this.closed) throw new Error("the zygote is closed");
    if (!this.current || this.current.dead) {
      this.current = new ZygoteProcess(this.config);
    }
    return this.current;
  }

  /** Whether each run moves itself into its cgroups (see `cgroupParents`). */
  get joinsCgroups(): boolean {
    return (this.config.cgroupParents?.length ?? 0) > 0;
  }

  /**
   * Forks a run; `hostUid` (from `runUids`) is the uid it has on the host; `cgroup` the name of
   * the cgroups it moves itself into (see `cgroupParents`), and `locate` gives the host pid of
   * the one process in them.
   */
  fork(
    id: string,
    place: (hostPid: number) => Promise<void>,
    hostUid: number | null = null,
    cgroup: string | null = null,
    locate: (() => Promise<number | null>) | null = null,
  ): Promise<ZygoteRun> {
    const range = this.config.runUids;
    const uid =
      range && hostUid !== null && hostUid >= range.start && hostUid < range.start + range.size
        ? hostUid - range.start + 1
        : null;
    return this.process().fork(id, this.config.diskBytes, place, uid, cgroup, locate);
  }

  close(): void {
    this.closed = true;
    this.current?.kill();
    this.current = null;
  }
}
