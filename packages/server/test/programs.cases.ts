import { AsyncLocalStorage, createHook } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { RunRequest, RunResult } from "@mecha/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import { findBwrap } from "../src/runtime/sandbox";
import { target } from "./hostile/mode";

/**
 * Ordinary programs must behave under Mecha exactly as under the distribution's CPython run as
 * `python3 main.py`: same stdout, same stderr (up to the script's directory), same exit code.
 */

const PYTHON = "/usr/bin/python3";

interface Case {
  name: string;
  code: string;
  stdin?: string;
  files?: { path: string; content: string }[];
  args?: string[];
  /**
   * Why the case holds only where a process of Mecha's reaps what a run leaves (a sandbox's
   * init, or a zygote), not with `sandbox: "none"` and `startup: "spawn"`.
   */
  reaperOnly?: string;
}

const CASES: Case[] = [
  { name: "unicode", code: 'print("héllo wörld ✓ 你好 🐍")\nprint("a\\tb")' },
  {
    name: "large output",
    code: 'for i in range(20000):\n    print(f"line {i:06d} " + "x" * 20)',
  },
  {
    name: "stdin",
    code: "import sys\ndata = sys.stdin.read()\nprint(len(data), data.upper())",
    stdin: "abc\ndéf\n",
  },
  {
    name: "input() with a prompt",
    code: 'name = input("Name? ")\nage = input("Age? ")\nprint(f"{name} is {age}")',
    stdin: "Ada\n36\n",
  },
  { name: "input() at end of input", code: 'x = input("more? ")', stdin: "" },
  { name: "uncaught exception", code: "def f(x):\n    return 10 / x\n\nprint('before')\nf(0)" },
  {
    name: "chained exception",
    code: "try:\n    {}['k']\nexcept KeyError as e:\n    raise ValueError('bad value') from e",
  },
  { name: "syntax error", code: "print('ok'\nx = 1" },
  { name: "exit code", code: "import sys\nprint('bye')\nsys.exit(3)" },
  { name: "exit with a message", code: "import sys\nsys.exit('fatal: no config')" },
  {
    name: "stderr",
    code: "import sys\nprint('out')\nprint('err', file=sys.stderr)\nprint('out2')",
  },
  {
    name: "carriage returns",
    code: "import sys\nfor i in range(5):\n    sys.stdout.write(f'\\r{i*25}%')\nprint()",
  },
  {
    name: "invalid UTF-8 output",
    code: "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')",
  },
  {
    name: "files in the working directory",
    code: "with open('out.txt', 'w') as f:\n    f.write('saved')\nprint(open('out.txt').read())\nprint(open('data/input.csv').read().strip())\nimport os\nprint(sorted(os.listdir('.')))",
    files: [{ path: "data/input.csv", content: "a,b\n1,2\n" }],
  },
  {
    name: "multi-file import",
    code: "from helpers import greet\nfrom pkg.util import double\nprint(greet('x'), double(21))",
    files: [
      { path: "helpers.py", content: "def greet(n):\n    return f'hi {n}'\n" },
      { path: "pkg/__init__.py", content: "" },
      { path: "pkg/util.py", content: "def double(n):\n    return n * 2\n" },
    ],
  },
  {
    name: "argv and __name__",
    code: "import sys\nprint(sys.argv, __name__, __file__.endswith('main.py'))",
    args: ["--flag", "v"],
  },
  { name: "recursion", code: "def r(n):\n    return r(n + 1)\nr(0)" },
  {
    name: "exception in an imported module",
    code: "import broken",
    files: [{ path: "broken.py", content: "x = 1\nraise RuntimeError('from module')\n" }],
  },
  { name: "keyboard interrupt", code: "print('start')\nraise KeyboardInterrupt" },
  { name: "exit via os._exit", code: "import os\nprint('x', flush=True)\nos._exit(7)" },
  {
    // Each larger than a pipe holds at once: the server must wait for room, keeping the order.
    name: "inputs larger than a pipe holds",
    code: `DATA = ${JSON.stringify("0123456789abcdef".repeat(12_000))}\nimport hashlib, sys\nfrom big import TEXT\ndata = sys.stdin.read()\nprint(len(DATA), len(TEXT), len(data), hashlib.sha256(data.encode()).hexdigest())`,
    files: [{ path: "big.py", content: `TEXT = ${JSON.stringify("é".repeat(100_000))}\n` }],
    stdin: Array.from({ length: 20_000 }, (_, i) => `line ${i}`).join("\n"),
  },
  {
    // More orphans than a run may have processes: each must be reaped as it ends.
    name: "orphaned children",
    reaperOnly:
      "without a sandbox, a fresh interpreter per run (or the zygote on macOS, no subreaper there) leaves orphans to the host's init, which reaps them on its own schedule",
    code: "import os\nfor i in range(200):\n    pid = os.fork()\n    if pid == 0:\n        if os.fork() == 0:\n            os._exit(0)\n        os._exit(0)\n    os.waitpid(pid, 0)\nprint('left 200 orphans')",
  },
];

function runCPython(testCase: Case): {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  dir: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "mecha-ref-"));
  for (const file of testCase.files ?? []) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  writeFileSync(join(dir, "main.py"), testCase.code);
  const out = spawnSync(PYTHON, ["-E", "-s", "-u", "main.py", ...(testCase.args ?? [])], {
    cwd: dir,
    input: testCase.stdin ?? "",
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8", HOME: dir },
  });
  rmSync(dir, { recursive: true, force: true });
  return {
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    exitCode: out.status,
    dir,
  };
}

/** Tracebacks name the script by its absolute path, which differs between the two runs. */
function normalise(text: string, dir: string): string {
  const replaced = dir ? text.split(`${dir}/`).join("<dir>/") : text;
  return replaced.replace(
    /"\/(?:workspace|tmp\/mecha-run-[\w-]+|tmp\/mecha-[\w-]+\/runs\/[\w-]+)\//g,
    '"<dir>/',
  );
}

const modes =
  findBwrap() && target.sandbox === "required" ? (["none", "auto"] as const) : (["none"] as const);
if (!findBwrap())
  console.warn("programs: bubblewrap not installed; comparing without the sandbox only");
/**
 * Runs without a sandbox, each a fresh interpreter or forked by a zygote that is no subreaper
 * (macOS): nothing of Mecha's reaps what they leave.
 */
const reaperless = (sandbox: string) =>
  sandbox === "none" && (target.startup === "spawn" || !target.reaper);

describe.each(modes)("ordinary programs behave as under CPython (sandbox: %s)", (sandbox) => {
  const handler = createHandler({ sandbox, logger: false });
  afterAll(() => handler.close());

  async function run(body: Omit<RunRequest, "language">): Promise<RunResult> {
    const response = await handler(
      new Request("http://localhost/runs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ language: "python", ...body }),
      }),
    );
    expect(response.status).toBe(200);
    return (await response.json()) as RunResult;
  }

  for (const testCase of CASES) {
    if (reaperless(sandbox) && testCase.reaperOnly) {
      console.warn(`SKIPPED: "${testCase.name}": ${testCase.reaperOnly}`);
      it.skip(`${testCase.name} (${testCase.reaperOnly})`, () => {});
    }
  }

  const cases = CASES.filter((testCase) => !reaperless(sandbox) || !testCase.reaperOnly);
  it.each(cases)("$name", async (testCase) => {
    const expected = runCPython(testCase);
    const result = await run({
      code: testCase.code,
      ...(testCase.stdin !== undefined ? { stdin: testCase.stdin } : {}),
      ...(testCase.files ? { files: testCase.files } : {}),
      ...(testCase.args ? { args: testCase.args } : {}),
    });
    expect(result.stdout).toBe(expected.stdout);
    expect(normalise(result.stderr, "")).toBe(normalise(expected.stderr, expected.dir));
    if (expected.exitCode === null) {
      expect(result.exitCode === null || result.exitCode > 128).toBe(true);
    } else {
      expect(result.exitCode).toBe(expected.exitCode);
    }
    expect(result.status).toBe(expected.exitCode === 0 ? "succeeded" : "failed");
  });

  it("reports an uncaught exception with the line in the user's code", async () => {
    const result = await run({ code: "x = 1\n\ndef f():\n    raise ValueError('nope')\n\nf()\n" });
    expect(result.error).toMatchObject({ type: "ValueError", message: "nope", line: 4 });
    expect(result.error?.traceback).toContain("line 4, in f");
    expect(result.error?.traceback).not.toContain("bootstrap");
  });

  it("reports the innermost line in main.py when the failure is inside an imported module", async () => {
    const result = await run({
      code: "import lib\n\nlib.boom()\n",
      files: [{ path: "lib.py", content: "def boom():\n    return {}['missing']\n" }],
    });
    expect(result.error).toMatchObject({ type: "KeyError", line: 3 });
  });

  it("reports a syntax error's line", async () => {
    const result = await run({ code: "a = 1\nb = (\n" });
    expect(result.error?.type).toBe("SyntaxError");
    expect(result.error?.line).toBe(2);
  });

  it("measures CPU time and memory from the kernel where it can", async () => {
    const result = await run({ code: "x = bytearray(40 * 1024 * 1024)\nsum(range(3_000_000))" });
    expect(result.status).toBe("succeeded");
    if (result.memoryKb !== null) expect(result.memoryKb).toBeGreaterThan(40 * 1024);
    if (result.cpuTimeMs !== null) expect(result.cpuTimeMs).toBeGreaterThan(10);
  });

  it("ends a run at its wall-clock limit", async () => {
    const result = await run({
      code: "print('start', flush=True)\nwhile True: pass",
      limits: { timeoutMs: 2_000 },
    });
    expect(result.status).toBe("timed_out");
    expect(result.stdout).toBe("start\n");
    expect(result.durationMs).toBeGreaterThanOrEqual(1_900);
    expect(result.durationMs).toBeLessThan(6_000);
  });

  it("ends a run at its output limit and keeps what came before", async () => {
    const result = await run({
      code: "while True:\n    print('é' * 99)",
      limits: { outputBytes: 10_000 },
    });
    expect(result.status).toBe("output_exceeded");
    expect(result.truncated).toBe(true);
    expect(new TextEncoder().encode(result.stdout).byteLength).toBeLessThanOrEqual(10_000);
    expect(result.stdout).not.toContain("\uFFFD");
  });

  it("reports memory exhaustion as memory_exceeded", async () => {
    const result = await run({ code: "x = bytearray(2 * 1024 ** 3)", limits: { memoryMb: 128 } });
    expect(result.status).toBe("memory_exceeded");
    // The cgroup's limit ends it (the kernel kills it); an address-space limit, where there is
    // no cgroup, makes the allocation fail in Python.
    if (result.signal === null) expect(result.error?.type).toBe("MemoryError");
    else expect(result.signal).toBe("SIGKILL");
  });

  it("leaves no timer of a finished run behind once closed, so the process can exit", async () => {
    // A timer left running keeps the run's whole state alive, and the process awake, until it
    // fires. Only this handler's timers count: the others in this file may be starting meanwhile.
    const mine = new AsyncLocalStorage<true>();
    const created: { timer: NodeJS.Timeout; stack?: string }[] = [];
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        if (type === "Timeout" && mine.getStore()) {
          created.push({ timer: resource as NodeJS.Timeout, stack: new Error().stack });
        }
      },
    }).enable();
    try {
      await mine.run(true, async () => {
        const own = createHandler({ sandbox, logger: false });
        for (let i = 0; i < 3; i++) {
          const response = await own(
            new Request("http://localhost/runs", {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ language: "python", code: `print(${i})` }),
            }),
          );
          expect(((await response.json()) as RunResult).stdout).toBe(`${i}\n`);
        }
        await own.close();
      });
    } finally {
      hook.disable();
    }
    // (A timer that has fired or been cleared is marked destroyed at once.)
    const awake = created.filter(
      ({ timer }) => !Reflect.get(timer, "_destroyed") && timer.hasRef(),
    );
    expect(created.length).toBeGreaterThan(0);
    expect(awake.map(({ stack }) => stack)).toEqual([]);
  });
});
