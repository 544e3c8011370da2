/**
 * The bootstrap's Windows path (python/bootstrap.py `run_windows`, python/mecha_windows.py), run
 * on Linux as far as Linux can: SIMULATED by test/windows/simulated_windows.py, which runs
 * Debian's CPython with the names Windows' CPython lacks taken away (os.fork, os.setsid,
 * os.register_at_fork, os.O_CLOEXEC/O_NOFOLLOW/O_DIRECTORY/O_NONBLOCK, dir_fd, the POSIX-only
 * signals, fcntl, resource, pwd, grp, termios, ctypes.CDLL(None)), tells the bootstrap it is on
 * Windows, and gives it a fake kernel32 that checks arguments against the declared prototypes
 * and logs every call. Windows itself enforcing the limits is not shown here (nothing on Linux
 * can); see docs/platforms.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runEnvironment } from "../../src/runtime/environment";
import { jobDocument } from "../../src/runtime/jobDocument";
import type { PreparedRun } from "../../src/runtime/launcher";
import { resolveRuntimeOptions } from "../../src/runtime/options";
import { PYTHON_FILES } from "../../src/runtime/pythonFiles";

const PYTHON = "/usr/bin/python3";
const RUNNER = fileURLToPath(new URL("./simulated_windows.py", import.meta.url));
const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), "mecha-windows-"));
const bootstrapDir = join(work, "python");
afterAll(() => rmSync(work, { recursive: true, force: true }));
mkdirSync(bootstrapDir);
for (const [name, text] of Object.entries(PYTHON_FILES))
  writeFileSync(join(bootstrapDir, name), text);

// The fake kernel32's handles and answers (see simulated_windows.py).
const JOB = 0x1000;
const PORT = 0x2000;
const CURRENT_PROCESS = "0xffffffffffffffff";

type Call = { call: string; args: unknown[] } | { mark: string };

interface Simulated {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
  calls: Call[];
}

let runs = 0;

/** Runs `code` through the simulated Windows bootstrap with the job the server would send. */
async function simulate(
  code: string,
  { returnFiles = [] as string[], fake = {} as Record<string, string> } = {},
): Promise<Simulated> {
  const home = join(work, `run-${++runs}`);
  mkdirSync(home);
  const log = join(home, "..", `calls-${runs}.log`);
  writeFileSync(log, "");
  const settings = resolveRuntimeOptions({ maxProcesses: 7 });
  const prepared = { cgroup: null, ownUser: false, jobObject: true } as unknown as PreparedRun;
  const job = jobDocument(
    { code, files: [], args: [], interactive: false, returnFiles, marker: "m" },
    { timeoutMs: 5000, memoryMb: 96, outputBytes: 1 << 20 },
    {
      prepared,
      shares: { inotifyInstances: 1, inotifyWatches: 1, sigpending: 1, msgqueue: 1 },
      network: "host",
    },
    settings,
  );
  // The environment a Windows server gives a run (its PATH made this machine's).
  const env = runEnvironment(home, {
    tmp: home,
    platform: "win32",
    hostEnv: { SYSTEMROOT: "C:\\Windows", PATH: "/usr/bin:/bin" },
  });
  const child = spawn(PYTHON, ["-u", RUNNER, bootstrapDir, log], {
    cwd: home,
    env: { ...env, ...fake },
    stdio: ["pipe", "pipe", "pipe", "pipe", "pipe"],
  });
  const streams = child.stdio as unknown as (Readable & Writable)[];
  const read = (stream: Readable) =>
    new Promise<string>((resolve) => {
      let text = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        text += chunk;
      });
      stream.on("end", () => resolve(text));
    });
  const [stdout, stderr, events] = [read(streams[1]!), read(streams[2]!), read(streams[4]!)];
  streams[0]!.end();
  streams[3]!.end(JSON.stringify({ ...job, report: false }));
  const exitCode = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    code: exitCode,
    stdout: await stdout,
    stderr: await stderr,
    events: (await events)
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
    calls: readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Call),
  };
}

const named = (calls: Call[], name: string) =>
  calls.filter((entry): entry is { call: string; args: unknown[] } =>
    "call" in entry ? entry.call === name : false,
  );
const position = (calls: Call[], match: (entry: Call) => boolean) => calls.findIndex(match);

describe("the bootstrap on Windows (simulated: Linux CPython without its Unix-only names, fake kernel32)", () => {
  it("runs the program inside a job object made before any of it runs, with the run's limits", async () => {
    const run = await simulate(
      'import fake_kernel32\nfake_kernel32.mark("program")\nprint("ran", flush=True)\n',
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("ran\n");
    const { calls } = run;
    expect(named(calls, "CreateJobObjectW")[0]?.args).toEqual([null, null]);
    const [limits, port] = named(calls, "SetInformationJobObject");
    // JobObjectExtendedLimitInformation (9), sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) = 144.
    expect(limits?.args[0]).toBe(JOB);
    expect(limits?.args[1]).toBe(9);
    expect(limits?.args[3]).toBe(144);
    const info = limits?.args[2] as {
      BasicLimitInformation: { LimitFlags: number; ActiveProcessLimit: number };
      JobMemoryLimit: number;
    };
    // KILL_ON_JOB_CLOSE | DIE_ON_UNHANDLED_EXCEPTION | JOB_MEMORY | ACTIVE_PROCESS
    expect(info.BasicLimitInformation.LimitFlags).toBe(0x2000 | 0x400 | 0x200 | 0x8);
    expect(info.JobMemoryLimit).toBe(96 * MiB);
    expect(info.BasicLimitInformation.ActiveProcessLimit).toBe(7);
    // A completion port of its own (JobObjectAssociateCompletionPortInformation, 7).
    expect(named(calls, "CreateIoCompletionPort")[0]?.args).toEqual([CURRENT_PROCESS, null, 0, 1]);
    expect(port?.args).toEqual([JOB, 7, { CompletionKey: null, CompletionPort: PORT }, 16]);
    // This very process (GetCurrentProcess's pseudo-handle) in the job.
    expect(named(calls, "AssignProcessToJobObject")[0]?.args).toEqual([JOB, CURRENT_PROCESS]);
    const assigned = position(
      calls,
      (entry) => "call" in entry && entry.call === "AssignProcessToJobObject",
    );
    const program = position(calls, (entry) => "mark" in entry && entry.mark === "program");
    expect(assigned).toBeGreaterThanOrEqual(0);
    expect(program).toBeGreaterThan(assigned);
    expect(
      position(calls, (entry) => "call" in entry && entry.call === "SetInformationJobObject"),
    ).toBeLessThan(assigned);
  });

  it("sends the job's accounting once the program has ended", async () => {
    const run = await simulate('import fake_kernel32\nfake_kernel32.mark("program")\n');
    const program = position(run.calls, (entry) => "mark" in entry);
    const queries = named(run.calls, "QueryInformationJobObject");
    // JobObjectBasicAndIoAccountingInformation (8, 96 bytes), then the extended limits (9).
    expect(queries.map((query) => [query.args[1], query.args[3]])).toEqual([
      [8, 96],
      [9, 144],
    ]);
    expect(
      position(run.calls, (entry) => "call" in entry && entry.call === "QueryInformationJobObject"),
    ).toBeGreaterThan(program);
    // (12,345,670 + 100,000) ticks of 100 ns; 50 MiB peak committed.
    expect(run.events).toEqual([
      { type: "accounting", cpuTimeMs: 1244.567, memoryKb: 51200, memoryLimited: false },
    ]);
  });

  it.each([
    ["CreateJobObjectW", 8],
    ["SetInformationJobObject", 87],
    ["CreateIoCompletionPort", 1450],
    // Windows 7 and older: a process already in a job (Node's) cannot join another one.
    ["AssignProcessToJobObject", 5],
  ])(
    "runs nothing when %s fails, and says Windows' error (ctypes' copy of GetLastError)",
    async (name, error) => {
      const run = await simulate(
        'import fake_kernel32\nfake_kernel32.mark("program")\nprint("ran")\n',
        { fake: { FAKE_FAIL: `${name}:${error}` } },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain("Mecha: could not contain the run in a Windows job object");
      expect(run.stderr).toContain(`${name} failed (Windows error ${error})`);
      expect(run.calls.some((entry) => "mark" in entry)).toBe(false);
      expect(run.events).toEqual([]);
    },
  );

  it("says when the job's memory limit refused an allocation (simulated completion message)", async () => {
    const run = await simulate("x = 1\n", { fake: { FAKE_MEMORY_LIMIT: "1" } });
    expect(run.events.at(-1)).toMatchObject({ type: "accounting", memoryLimited: true });
  });

  it("sends the files asked back without dir_fd, never through a symbolic link, before the accounting", async () => {
    const run = await simulate(
      [
        "import os",
        "os.makedirs('out')",
        "with open('out/a.csv', 'wb') as f:",
        "    f.write(b'1\\r\\n2\\x1a3')",
        "os.symlink('/etc/hostname', 'out/link.csv')",
      ].join("\n"),
      { returnFiles: ["out/*.csv"] },
    );
    expect(run.stderr).toBe("");
    expect(run.events.map((event) => event.type)).toEqual(["file", "accounting"]);
    expect(run.events[0]).toEqual({
      type: "file",
      path: "out/a.csv",
      size: 6,
      content: Buffer.from("1\r\n2\x1a3").toString("base64"),
    });
  });

  it("ends with the exit status CPython gives on Windows (32 bits, a C long)", () => {
    const result = JSON.parse(
      spawnSyncPython(
        [
          "import runpy, json, sys",
          `ns = runpy.run_path(${JSON.stringify(join(bootstrapDir, "bootstrap.py"))}, init_globals={"WINDOWS": True})`,
          "status = ns['system_exit_status']",
          "print(json.dumps([status(3), status(300), status(-1), status(2**40), ns['STATUS_CONTROL_C_EXIT']]))",
        ].join("\n"),
      ),
    );
    expect(result).toEqual([3, 300, 0xffffffff, 0xffffffff, 0xc000013a]);
  });

  it("tells a standard stream the program pointed elsewhere from the run's pipe, where fstat gives no inode", () => {
    // Windows' fstat gives a pipe (or NUL) device and inode 0: the display markers then go by
    // the OS handle behind the descriptor, which the program's os.dup2 onto it changes.
    const result = JSON.parse(
      spawnSyncPython(
        [
          "import json, os, stat, sys, types",
          `sys.path.insert(0, ${JSON.stringify(bootstrapDir)})`,
          "handles = {1: 0x44}",
          "sys.modules['msvcrt'] = types.SimpleNamespace(get_osfhandle=lambda fd: handles[fd])",
          "os.fstat = lambda fd: types.SimpleNamespace(st_dev=0, st_ino=0, st_mode=stat.S_IFIFO | 0o600)",
          "import mecha_display",
          "run_pipe = mecha_display.pipe_identity(1)",
          "still = mecha_display.pipe_identity(1)",
          "handles[1] = 0x58",
          "print(json.dumps([run_pipe is not None, still == run_pipe, mecha_display.pipe_identity(1) == run_pipe]))",
        ].join("\n"),
      ),
    );
    expect(result).toEqual([true, true, false]);
  });

  it("lays the job object structures out as 64-bit Windows does (winnt.h's declarations)", () => {
    const sizes = JSON.parse(spawnSyncPython(null, ["--sizes", bootstrapDir])) as Record<
      string,
      { sizeof: number; declared: number; offsets: Record<string, number> }
    >;
    // Natural alignment, as MSVC lays them out: LARGE_INTEGER, SIZE_T, ULONG_PTR, ULONGLONG and
    // pointers 8 bytes; DWORD 4, padded before the next 8-byte member.
    expect(sizes.JOBOBJECT_BASIC_LIMIT_INFORMATION).toEqual({
      sizeof: 64,
      declared: 64,
      offsets: {
        PerProcessUserTimeLimit: 0,
        PerJobUserTimeLimit: 8,
        LimitFlags: 16,
        MinimumWorkingSetSize: 24,
        MaximumWorkingSetSize: 32,
        ActiveProcessLimit: 40,
        Affinity: 48,
        PriorityClass: 56,
        SchedulingClass: 60,
      },
    });
    expect(sizes.JOBOBJECT_EXTENDED_LIMIT_INFORMATION).toEqual({
      sizeof: 144,
      declared: 144,
      offsets: {
        BasicLimitInformation: 0,
        IoInfo: 64,
        ProcessMemoryLimit: 112,
        JobMemoryLimit: 120,
        PeakProcessMemoryUsed: 128,
        PeakJobMemoryUsed: 136,
      },
    });
    expect(sizes.JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION).toMatchObject({
      sizeof: 96,
      declared: 96,
      offsets: { BasicInfo: 0, IoInfo: 48 },
    });
    expect(sizes.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).toMatchObject({
      sizeof: 48,
      declared: 48,
      offsets: { TotalUserTime: 0, TotalKernelTime: 8, TotalPageFaultCount: 32 },
    });
    expect(sizes.IO_COUNTERS).toMatchObject({ sizeof: 48, declared: 48 });
    expect(sizes.JOBOBJECT_ASSOCIATE_COMPLETION_PORT).toMatchObject({
      sizeof: 16,
      declared: 16,
      offsets: { CompletionKey: 0, CompletionPort: 8 },
    });
  });
});

function spawnSyncPython(code: string | null, args: string[] = []): string {
  const result = spawnSync(PYTHON, code === null ? [RUNNER, ...args] : ["-c", code], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin" },
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}
