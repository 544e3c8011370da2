/**
 * The server's choices for a Windows host, made on Linux by passing the platform in: SIMULATED.
 * The spawn start-up path runs against a fake spawner whose child stands in for Windows'
 * bootstrap (it writes what python/bootstrap.py's `run_windows` writes and exits as a killed
 * Windows process does); nothing here starts a process or runs on Windows.
 */
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { type Environment, runEnvironment } from "../../src/runtime/environment";
import { jobDocument } from "../../src/runtime/jobDocument";
import type { PreparedRun } from "../../src/runtime/launcher";
import { resolveRuntimeOptions } from "../../src/runtime/options";
import { windowsIsolationWarning } from "../../src/runtime/processIsolation";
import { createPythonRuntime } from "../../src/runtime/pythonRuntime";
import { RunExecution } from "../../src/runtime/runExecution";
import { createSpawnLauncher } from "../../src/runtime/spawnLauncher";
import type { RunJob, RunOutcome } from "../../src/runtime/types";
import { shutdownSignals } from "../../src/shutdownSignals";

const work = mkdtempSync(join(tmpdir(), "mecha-win32-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const SHARES = { inotifyInstances: 1, inotifyWatches: 1, sigpending: 1, msgqueue: 1 };
const ENV: Environment = {
  interpreter: {
    executable: "C:\\Program Files\\Python312\\python.exe",
    version: "3.12.4",
    prefix: "C:\\Program Files\\Python312",
    environment: "C:\\Program Files\\Python312",
    paths: [],
  },
  isolation: "process",
  bwrap: null,
  seccompFile: null,
  stateDir: work,
  bootstrapDir: join(work, "python"),
  etcDir: join(work, "etc"),
  binds: [],
  cgroups: null,
  uids: null,
  shares: SHARES,
  packages: [],
  matplotlib: false,
};

/** What the fake bootstrap does once it has its job. */
type Script = (child: FakeChild, job: Record<string, unknown>) => void;

/** A child process as Node gives it, driven by the test: fds 0–8 as the spawn path asks. */
class FakeChild extends EventEmitter {
  readonly pid = 4242;
  readonly stdio = Array.from({ length: 9 }, () => new PassThrough());
  readonly kill = vi.fn((_signal?: string) => {
    this.exit(null, "SIGKILL");
    return true;
  });
  private exited = false;

  constructor(script: Script) {
    super();
    let text = "";
    this.stdio[3]!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    this.stdio[3]!.on("finish", () => script(this, JSON.parse(text)));
  }

  write(fd: number, text: string): void {
    this.stdio[fd]!.write(text);
  }

  /** Exits, its streams closed, as a process does. */
  exit(code: number | null, signal: string | null): void {
    if (this.exited) return;
    this.exited = true;
    for (const fd of [1, 2, 4, 8]) this.stdio[fd]!.end();
    queueMicrotask(() => this.emit("exit", code, signal));
  }
}

interface Spawned {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
  child: FakeChild;
}

function launcher(platform: NodeJS.Platform, script: Script) {
  const spawned: Spawned[] = [];
  const settings = resolveRuntimeOptions({
    warmPool: 0,
    maxProcesses: 7,
    logger: { info() {}, warn() {}, error() {} },
    spawn: (command, args, options) => {
      const child = new FakeChild(script);
      spawned.push({ command, args, options, child });
      return child as unknown as ChildProcess;
    },
  });
  return { launcher: createSpawnLauncher(ENV, settings, platform), settings, spawned };
}

let ids = 0;

/** One run through the spawn path and RunExecution, as the runtime runs it. */
function run(platform: NodeJS.Platform, script: Script, limits: Partial<RunJob["limits"]> = {}) {
  const { launcher: spawnPath, settings, spawned } = launcher(platform, script);
  const job: RunJob = {
    id: `run-${++ids}`,
    code: "print('hi')",
    files: [],
    args: [],
    stdin: "",
    interactive: false,
    limits: { timeoutMs: 60_000, memoryMb: 64, outputBytes: 1 << 20, ...limits },
  };
  const execution = new RunExecution(
    job,
    { stdout() {}, stderr() {}, input() {}, display() {} },
    {
      settings,
      async acquire(cancelled) {
        return { prepared: await spawnPath.prepare(cancelled), shares: SHARES, network: "host" };
      },
      finished() {},
    },
  );
  return { execution, spawned };
}

/** What Windows' bootstrap does for a program that prints and ends (see `run_windows`). */
const printsAndEnds =
  (code: number, accounting: Record<string, unknown>): Script =>
  (child) => {
    child.write(1, "hi\n");
    child.write(4, `${JSON.stringify({ type: "accounting", ...accounting })}\n`);
    child.exit(code, null);
  };

const ACCOUNTING = { cpuTimeMs: 1244.567, memoryKb: 51200, memoryLimited: false };

describe("the server on Windows (simulated: platform passed in, fake spawner)", () => {
  it("starts the interpreter with a console of its own and tells the bootstrap not to fork", async () => {
    let job: Record<string, unknown> = {};
    const { execution, spawned } = run("win32", (child, sent) => {
      job = sent;
      printsAndEnds(0, ACCOUNTING)(child, sent);
    });
    await execution.done;
    const [{ command, args, options }] = spawned as [Spawned];
    expect(command).toBe("C:\\Program Files\\Python312\\python.exe");
    expect(args).toEqual(["-u", join(ENV.bootstrapDir, "bootstrap.py")]);
    // Not detached: Node's own job object then ends it with the server (and DETACHED_PROCESS
    // would leave it without a console); hidden.
    expect(options.detached).toBe(false);
    expect(options.windowsHide).toBe(true);
    const env = options.env as Record<string, string>;
    expect(env.USERPROFILE).toBe(options.cwd);
    expect(env.TEMP).toBe(env.TMPDIR);
    expect(env.PYTHONUTF8).toBe("1");
    expect(job.report).toBe(false);
    expect(job.windows).toEqual({
      memoryBytes: 64 * 1024 * 1024,
      processes: 7,
    });
    expect((job.limits as Record<string, unknown>).as).toBeUndefined();
  });

  it("starts it in a process group of its own, and with a reporter, elsewhere", async () => {
    let job: Record<string, unknown> = {};
    const { execution, spawned } = run("linux", (child, sent) => {
      job = sent;
      child.exit(0, null);
    });
    await execution.done;
    expect(spawned[0]?.options.detached).toBe(true);
    expect(job.report).toBe(true);
    expect(job.windows).toBeUndefined();
  });

  it("takes a run's CPU time and memory from the job object's accounting event", async () => {
    const { execution } = run("win32", printsAndEnds(0, ACCOUNTING));
    const outcome = await execution.done;
    expect(outcome).toMatchObject({
      status: "succeeded",
      exitCode: 0,
      stdout: "hi\n",
      cpuTimeMs: 1244.57,
      memoryKb: 51200,
    });
  });

  it("ignores such an event where the kernel accounts for runs (a program could write it)", async () => {
    const { execution } = run("linux", printsAndEnds(0, ACCOUNTING));
    const outcome = await execution.done;
    expect(outcome.cpuTimeMs).toBeNull();
    expect(outcome.memoryKb).toBeNull();
  });

  it("says memory_exceeded when the job's limit refused an allocation, with Windows' exit code as it is", async () => {
    const STATUS_NO_MEMORY = 0xc0000017;
    const { execution } = run(
      "win32",
      printsAndEnds(STATUS_NO_MEMORY, { ...ACCOUNTING, memoryLimited: true }),
    );
    const outcome = await execution.done;
    expect(outcome).toMatchObject({
      status: "memory_exceeded",
      exitCode: STATUS_NO_MEMORY,
      signal: null,
    });
  });

  it.each([
    ["cancelled", (execution: RunExecution) => execution.cancel(), {}],
    ["timed_out", () => {}, { timeoutMs: 50 }],
  ] as const)(
    "ends a %s run by killing its bootstrap, which ends its job, never a process group",
    async (status, stop, limits) => {
      const groupKill = vi.spyOn(process, "kill").mockImplementation(() => true);
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const { execution, spawned } = run("win32", () => started(), limits);
      await running;
      stop(execution);
      const outcome: RunOutcome = await execution.done;
      expect(outcome.status).toBe(status);
      expect(spawned[0]?.child.kill).toHaveBeenCalledWith("SIGKILL");
      expect(groupKill).not.toHaveBeenCalled();
    },
  );

  it("gives runs the variables Windows' CPython needs, their own directories, and nothing else of the host's", () => {
    const hostEnv = {
      SYSTEMROOT: "C:\\Windows",
      WINDIR: "C:\\Windows",
      COMSPEC: "C:\\Windows\\system32\\cmd.exe",
      PATHEXT: ".COM;.EXE;.BAT",
      PATH: "C:\\Windows\\system32",
      TEMP: "C:\\Users\\admin\\AppData\\Local\\Temp",
      USERPROFILE: "C:\\Users\\admin",
      AWS_SECRET_ACCESS_KEY: "secret",
    };
    const env = runEnvironment("C:\\run", { tmp: "C:\\tmp", platform: "win32", hostEnv });
    expect(env).toMatchObject({
      SYSTEMROOT: "C:\\Windows",
      WINDIR: "C:\\Windows",
      COMSPEC: "C:\\Windows\\system32\\cmd.exe",
      PATHEXT: ".COM;.EXE;.BAT",
      PATH: "C:\\Windows\\system32",
      USERPROFILE: "C:\\run",
      TEMP: "C:\\tmp",
      TMP: "C:\\tmp",
      PYTHONIOENCODING: "utf-8",
      PYTHONUTF8: "1",
    });
    expect(Object.values(env)).not.toContain("secret");
    expect(Object.values(env)).not.toContain("C:\\Users\\admin");
    const linux = runEnvironment("/home/run", { platform: "linux", hostEnv });
    expect(linux.SYSTEMROOT).toBeUndefined();
    expect(linux.PATH).toBe("/usr/local/bin:/usr/bin:/bin");
  });

  it("puts the run's job object limits in its job, not an address-space rlimit", () => {
    const settings = resolveRuntimeOptions({ maxProcesses: 9 });
    const limits = { timeoutMs: 1000, memoryMb: 128, outputBytes: 1024 };
    const program = {
      code: "",
      files: [],
      args: [],
      interactive: false,
      returnFiles: [],
      marker: "m",
    };
    const place = (jobObject: boolean) => ({
      prepared: { cgroup: null, ownUser: false, jobObject } as unknown as PreparedRun,
      shares: SHARES,
      network: "host" as const,
    });
    const windows = jobDocument(program, limits, place(true), settings);
    expect(windows.windows).toEqual({
      memoryBytes: 128 * 1024 * 1024,
      processes: 9,
    });
    expect(windows.limits.as).toBeUndefined();
    const posix = jobDocument(program, limits, place(false), settings);
    expect(posix.windows).toBeUndefined();
  });

  it("stops on Ctrl-Break and on the console window's close too", () => {
    expect(shutdownSignals("win32")).toEqual(["SIGINT", "SIGTERM", "SIGBREAK", "SIGHUP"]);
    expect(shutdownSignals("linux")).toEqual(["SIGINT", "SIGTERM"]);
  });

  it("offers no sessions (they need fork)", async () => {
    const runtime = createPythonRuntime({}, "win32");
    expect(runtime.features).not.toContain("sessions");
    expect(runtime.openSession).toBeUndefined();
    expect(createPythonRuntime({}, "linux").features).toContain("sessions");
    await runtime.close();
  });

  it("says at start-up what a Windows run does get without a sandbox", () => {
    const warning = windowsIsolationWarning(
      "bubblewrap (bwrap) is not available on this win32 host",
    );
    expect(warning).toMatch(/job object/);
    expect(warning).not.toMatch(/process group/);
    expect(warning).toMatch(/Do not run untrusted code/);
  });
});
