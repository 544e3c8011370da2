import type { ChildProcess } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { withInheritedClosed } from "../inheritedDescriptors";
import type { Spawner } from "../options";
import { PipeWriter } from "../pipeWriter";
import { bwrapArgs, SANDBOX_BOOTSTRAP_DIR, SANDBOX_FDS } from "../sandbox";
import { decodeWaitStatus } from "../signals";
import { type ForkRequest, formatRequest, parseReply, type ZygoteReply } from "./zygoteProtocol";

export interface ZygoteConfig {
  bwrap: string;
  python: string;
  pythonPrefix: string;
  bootstrapDir: string;
  etcDir: string;
  /** Extra read-only binds (source, target) the sandbox needs (see `sandboxBinds`). */
  binds: readonly (readonly [string, string])[];
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

/** How a forked run's program ended: its wait status and usage, from the kernel. */
export interface ForkedExit {
  code: number | null;
  signal: string | null;
  /** CPU time and peak RSS of the program and the children it waited for (wait4 rusage). */
  cpuTimeMs: number | null;
  memoryKb: number | null;
  /** Nothing else of the run was left running. */
  alone: boolean;
}

/** One forked run: isolated, in its cgroup, its program waiting for the job on fd 3. */
export interface ZygoteRun {
  hostPid: number;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  job: Writable;
  events: Readable;
  /** The program ended (null: it was killed before it could, or never started). */
  exited: Promise<ForkedExit | null>;
  /** No process of the run is left. */
  gone: Promise<void>;
  /** Ends the run's whole process tree (the zygote kills its init, the kernel the rest of it). */
  kill(): void;
}

interface Pending {
  ready: (message: Extract<ZygoteReply, { type: "ready" }>) => void;
  fail: (error: Error) => void;
  exit: (value: ForkedExit | null) => void;
  gone: () => void;
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
/** The zygote finds the directories of `cgroupParents` on fds 8 on (see zygote.py). */
const CGROUP_PARENTS_MAX = 3;
/** The zygote's replies are short lines: more than this unread means it cannot be trusted. */
const MAX_REPLY_BUFFER = 1 << 20;

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
export class ZygoteProcess {
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
          binds: config.binds,
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
      // Not -E: the environment is allow-listed already, and a program's own PYTHON* settings
      // (PYTHONBREAKPOINT, say) must work as under CPython. Not -s: HOME is the run's own
      // working directory, so its user site is the program's own, as under CPython
      // (sys.flags.no_user_site is 0). -u: output as it is written.
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
        stdio: withInheritedClosed<"pipe" | "ignore">([
          "pipe",
          "pipe",
          "pipe",
          "pipe",
          "pipe",
          seccompFd ?? "ignore",
          "pipe",
          config.runUids ? "pipe" : "ignore",
          ...parentFds,
        ]),
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
      let start = 0;
      for (let newline = chunk.indexOf("\n"); newline >= 0; newline = chunk.indexOf("\n", start)) {
        const line = this.buffer + chunk.slice(start, newline);
        this.buffer = "";
        start = newline + 1;
        const reply = parseReply(line);
        if (reply?.type === "hello") hello();
        else if (reply) this.handle(reply);
      }
      this.buffer += chunk.slice(start);
      if (this.buffer.length > MAX_REPLY_BUFFER) this.kill();
    });
    const exited = new Promise<void>((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.once("error", () => resolve());
    });
    void exited.then(() => {
      this.dead = true;
      for (const [, run] of this.pending) {
        run.fail(new Error(`the zygote exited: ${log.trim().slice(-500)}`));
        run.exit(null);
        run.gone();
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

  private handle(reply: Exclude<ZygoteReply, { type: "hello" }>): void {
    const run = this.pending.get(reply.id);
    if (!run) return;
    switch (reply.type) {
      case "ready":
        run.ready(reply);
        break;
      case "failed":
        run.fail(new Error(`the sandbox could not be set up: ${reply.message}`));
        run.exit(null);
        break;
      case "exit":
        run.exit({
          ...decodeWaitStatus(reply.status),
          cpuTimeMs: reply.cpu * 1000,
          memoryKb: reply.maxrss,
          alone: reply.alone,
        });
        break;
      case "reaped":
        run.fail(new Error("the run's process ended before it was ready"));
        run.exit(null);
        run.gone();
        this.pending.delete(reply.id);
        break;
    }
  }

  private send(line: string): void {
    if (!this.dead) this.control.write(line);
  }

  /**
   * Forks a run; `place` gets its host pid before anything of the run may execute. With
   * `request.cgroup` (the name of its cgroups under `cgroupParents`) the run has moved itself
   * into them before it is ready, and `locate` gives its host pid (the one process in its cgroup).
   */
  async fork(
    request: ForkRequest,
    place: (hostPid: number) => Promise<void>,
    locate: (() => Promise<number | null>) | null,
  ): Promise<ZygoteRun> {
    const forkLine = formatRequest({ op: "fork", ...request });
    const zygotePid = await this.ready;
    if (this.dead) throw new Error("the zygote exited");
    const { id } = request;
    let ready!: Pending["ready"];
    let fail!: Pending["fail"];
    let exit!: Pending["exit"];
    let gone!: Pending["gone"];
    const readied = new Promise<Extract<ZygoteReply, { type: "ready" }>>((resolve, reject) => {
      ready = resolve;
      fail = reject;
    });
    readied.catch(() => {});
    let exitedOnce = false;
    const exited = new Promise<ForkedExit | null>((resolve) => {
      exit = (value) => {
        if (exitedOnce) return;
        exitedOnce = true;
        resolve(value);
      };
    });
    const ended = new Promise<void>((resolve) => {
      gone = resolve;
    });
    this.pending.set(id, { ready, fail, exit, gone });
    this.send(forkLine);
    let timer: NodeJS.Timeout | undefined;
    const { pid: program, fds } = await Promise.race([
      readied,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the run was not ready within 10 s")), 10_000);
      }),
    ])
      .catch((cause: unknown) => {
        // Not ready in time (or failed): nothing of it may go on, whatever it is doing.
        this.send(formatRequest({ op: "kill", id }));
        throw cause;
      })
      .finally(() => clearTimeout(timer));
    let hostPid: number | null = null;
    const opened: number[] = [];
    try {
      hostPid = (await locate?.()) ?? hostPidOf(zygotePid, program);
      if (hostPid === null) throw new Error("could not find the run's host pid");
      const open = (fd: number, flags: number) => {
        const opening = openSync(`/proc/${hostPid}/fd/${fd}`, flags | constants.O_NONBLOCK);
        opened.push(opening);
        return opening;
      };
      const { O_RDONLY: rd, O_WRONLY: wr } = constants;
      const fdOf = {
        stdin: open(fds.stdin, wr),
        stdout: open(fds.stdout, rd),
        stderr: open(fds.stderr, rd),
        job: open(fds.job, wr),
        events: open(fds.events, rd),
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
        gone: ended,
        // Through the zygote, which reaps the run's pid 1: a pid it has reaped is never signalled.
        // Once that process has ended, the kernel has ended the rest of the run with it.
        kill: () => this.send(formatRequest({ op: "kill", id })),
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
      this.send(formatRequest({ op: "kill", id }));
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
