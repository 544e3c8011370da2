import type { ChildProcess } from "node:child_process";
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { PipeWriter } from "../pipeWriter";
import { decodeWaitStatus } from "../signals";
import { endWhenUnwritten } from "./namedPipeEnd";
import { startPlain } from "./startPlain";
import { startSandboxed } from "./startSandboxed";
import {
  type ForkRequest,
  formatRequest,
  parseReply,
  type RunDescriptors,
  type ZygoteReply,
} from "./zygoteProtocol";
import type { ZygoteConfig, ZygoteStart } from "./zygoteStart";

export type { ZygoteConfig } from "./zygoteStart";

/** The names of a run's named pipes in its working directory (python/mecha_zygote.py). */
const FIFO_PREFIX = ".mecha-";

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
  /** The run's first process on the host, once found; until its end is reported. */
  hostPid?: number;
  /** The zygote has ended the run itself: its program ended with nothing else left running. */
  over?: boolean;
}

/** The zygote finds the directories of `cgroupParents` on fds 8 on (see zygote.py). */
const CGROUP_PARENTS_MAX = 3;
/** The zygote's replies are short lines: more than this unread means it cannot be trusted. */
const MAX_REPLY_BUFFER = 1 << 20;

/** A live zygote process and the runs it has forked. */
export class ZygoteProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  private readonly hostPidOf: ZygoteStart["hostPidOf"];
  /** Callers of `sweep`, by uid, until the zygote says it is done. */
  private sweeps = new Map<number, (() => void)[]>();
  private control: Writable;
  private pending = new Map<string, Pending>();
  private buffer = "";
  private hostPid: number | null = null;
  dead = false;

  constructor(private readonly config: ZygoteConfig) {
    let seccompFd: number | null = null;
    const parents = (config.cgroupParents ?? []).slice(0, CGROUP_PARENTS_MAX);
    const parentFds: number[] = [];
    let log = "";
    let start: ZygoteStart;
    try {
      if (config.seccompFile) seccompFd = openSync(config.seccompFile, "r");
      for (const dir of parents) {
        parentFds.push(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY));
      }
      const fds = { seccomp: seccompFd, cgroupParents: parentFds };
      start =
        config.kind === "plain"
          ? startPlain(config, fds)
          : startSandboxed(config, fds, (why) => {
              log += why;
              this.kill();
            });
    } finally {
      if (seccompFd !== null) closeSync(seccompFd);
      for (const fd of parentFds) closeSync(fd);
    }
    this.child = start.child;
    this.hostPidOf = start.hostPidOf;
    const streams = this.child.stdio as unknown as (Readable & Writable)[];
    for (const stream of streams) stream?.on?.("error", () => {});
    this.control = streams[3] as Writable;
    const replies = streams[4] as Readable;
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-4000);
    };
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
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
        // A plain zygote's runs are not in a pid namespace that ends with it: their first
        // processes die with it (PR_SET_PDEATHSIG), and what they started is killed here.
        if (config.kind === "plain" && run.hostPid !== undefined) killGroup(run.hostPid);
        run.fail(new Error(`the zygote exited: ${log.trim().slice(-500)}`));
        run.exit(null);
        run.gone();
      }
      this.pending.clear();
      for (const [, done] of this.sweeps) for (const resolve of done) resolve();
      this.sweeps.clear();
    });
    this.ready = Promise.race([
      Promise.all([start.hostPid, greeted]).then(([pid]) => {
        if (pid === null) throw new Error(`the zygote did not start: ${log.trim().slice(-500)}`);
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
    if (reply.type === "swept") {
      for (const resolve of this.sweeps.get(reply.uid) ?? []) resolve();
      this.sweeps.delete(reply.uid);
      return;
    }
    const run = this.pending.get(reply.id);
    if (!run) return;
    switch (reply.type) {
      case "ready":
        run.ready(reply);
        break;
      case "failed":
        run.fail(new Error(`the run could not be set up: ${reply.message}`));
        run.exit(null);
        break;
      case "exit":
        run.hostPid = undefined;
        // With nothing else left, the zygote ends the run itself (see python/mecha_*_runs.py).
        run.over = reply.alone;
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
    const {
      pid: program,
      fds,
      fifos,
    } = await Promise.race([
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
      hostPid = (await locate?.()) ?? this.hostPidOf(zygotePid, program);
      if (hostPid === null) throw new Error("could not find the run's host pid");
      const pending = this.pending.get(id);
      if (pending && !exitedOnce) pending.hostPid = hostPid;
      const pipePath = this.pipePaths(id, hostPid, fds, fifos);
      // Never waits: each pipe's other end is open in U by now, or the open is a reading one. A
      // name is opened only as the named pipe it should be, never through a link.
      const open = (name: keyof RunDescriptors, flags: number) => {
        const nofollow = fifos ? constants.O_NOFOLLOW : 0;
        const opening = openSync(pipePath(name), flags | constants.O_NONBLOCK | nofollow);
        opened.push(opening);
        if (fifos && !fstatSync(opening).isFIFO()) throw new Error(`not a named pipe: ${name}`);
        return opening;
      };
      const { O_RDONLY: rd, O_WRONLY: wr } = constants;
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
        gone: ended,
        // Through the zygote, which reaps the run's pid 1: a pid it has reaped is never signalled.
        // Once that process has ended, the kernel has ended the rest of the run with it. Not
        // once the zygote has ended the run itself, or reaped it: it would wake for nothing.
        kill: () => {
          const pending = this.pending.get(id);
          if (pending && !pending.over) this.send(formatRequest({ op: "kill", id }));
        },
      };
      for (const stream of [run.stdin, run.stdout, run.stderr, run.job, run.events]) {
        stream.on("error", () => {});
      }
      if (fifos) {
        endWhenUnwritten(run.stdout, fdOf.stdout, exited);
        endWhenUnwritten(run.stderr, fdOf.stderr, exited);
        endWhenUnwritten(run.events, fdOf.events, exited);
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

  /**
   * Where the server opens a forked run's pipes: U's descriptors through /proc/<pid>/fd, or, where
   * a plain zygote has no /proc to offer (macOS), the named pipes U made in its working directory
   * (see hand_over_fifos in python/mecha_zygote.py).
   */
  private pipePaths(
    id: string,
    hostPid: number,
    fds: RunDescriptors,
    fifos: boolean,
  ): (name: keyof RunDescriptors) => string {
    if (!fifos) return (name) => `/proc/${hostPid}/fd/${fds[name]}`;
    if (this.config.kind !== "plain") throw new Error("a sandboxed run's pipes are never named");
    const directory = join(this.config.runsDir, id);
    return (name) => join(directory, `${FIFO_PREFIX}${name}`);
  }

  /**
   * A plain zygote kills every process of a run's host uid (see python/mecha_plain_runs.py);
   * resolves once it has, or once the zygote is gone.
   */
  sweep(uid: number): Promise<void> {
    if (this.dead || this.config.kind !== "plain") return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.sweeps.get(uid);
      if (waiting) waiting.push(resolve);
      else this.sweeps.set(uid, [resolve]);
      this.send(formatRequest({ op: "sweep", uid }));
    });
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

/** Kills a process group, if it is still there. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // gone already
  }
}
