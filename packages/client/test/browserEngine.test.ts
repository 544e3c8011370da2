import { describe, expect, it } from "vitest";
import { EOF_MESSAGE, NOT_ISOLATED_EOF_MESSAGE } from "../src/browser/toRunJob";
import { CONTROL, STDIN_EOF, STDIN_READY } from "../src/browser/workerProtocol";
import { usePythonEngine } from "./pythonEngine";

/**
 * The worker's engine on real Pyodide, in Node: the Python half of the browser backend
 * (tracebacks, exit codes, stdin, per-run clean-up, stops). The page half is tested in Chromium
 * by the playground's suite.
 */

const { run, state } = usePythonEngine();

describe("the browser backend's Python engine (real Pyodide)", () => {
  it("runs a computation and streams its output", async () => {
    const { result, messages } = await run("print(sum(i*i for i in range(1000)))");
    expect(result).toMatchObject({
      status: "succeeded",
      exitCode: 0,
      stdout: "332833500\n",
      stderr: "",
      cpuTimeMs: null,
      memoryKb: null,
    });
    expect(messages[0]).toMatchObject({ type: "running" });
    expect(messages.at(-1)).toMatchObject({ type: "done" });
  });

  it("reports an uncaught exception like the server, with the line in the user's code", async () => {
    const { result } = await run("def f():\n    return 1/0\n\nprint('before')\nf()\n");
    expect(result.status).toBe("failed");
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("before\n");
    expect(result.error).toMatchObject({
      type: "ZeroDivisionError",
      message: "division by zero",
      line: 2,
    });
    expect(result.error?.traceback).toMatch(
      /^Traceback \(most recent call last\):\n {2}File "\/workspace\/main.py", line 5, in <module>\n/,
    );
    expect(result.error?.traceback).not.toContain("<mecha>");
    expect(result.stderr).toBe(result.error?.traceback);
  });

  it("reports a syntax error at its line", async () => {
    const { result } = await run("x = 1\ny = (\n");
    expect(result.error).toMatchObject({ type: "SyntaxError", line: 2 });
    expect(result.stderr).toContain('File "/workspace/main.py", line 2');
  });

  it.each([
    ["import sys; sys.exit()", 0, "succeeded", ""],
    ["import sys; sys.exit(3)", 3, "failed", ""],
    ["raise SystemExit(256 + 7)", 7, "failed", ""],
    ["import sys; sys.exit('bye')", 1, "failed", "bye\n"],
    ["exit(0)", 0, "succeeded", ""],
  ])("exits like CPython for %s", async (code, exitCode, status, stderr) => {
    const { result } = await run(code);
    expect(result).toMatchObject({ exitCode, status, stderr });
    expect(result.error).toBeUndefined();
  });

  it("reports a KeyboardInterrupt the program raised itself as exit 130", async () => {
    const { result } = await run("raise KeyboardInterrupt");
    expect(result).toMatchObject({ status: "failed", exitCode: 130 });
    expect(result.error?.type).toBe("KeyboardInterrupt");
  });

  it("reports MemoryError as memory_exceeded", async () => {
    const { result } = await run("raise MemoryError('too big')");
    expect(result.status).toBe("memory_exceeded");
  });

  it("gives qualified names for exceptions outside builtins", async () => {
    const { result } = await run("import json\njson.loads('{')");
    expect(result.error).toMatchObject({ type: "json.decoder.JSONDecodeError", line: 2 });
  });

  it("describes errors with the shared run_error module, which a program never sees", async () => {
    const { result } = await run(
      "import sys\nimport run_error\nprint(run_error.OWN, [m for m in sys.modules if 'run_error' in m])\nraise ValueError('x')\n",
      { files: [{ path: "run_error.py", content: "OWN = 'mine'\n" }] },
    );
    expect(result.stdout).toBe("mine ['run_error']\n");
    expect(result.error).toMatchObject({ type: "ValueError", message: "x", line: 4 });
    expect(result.error?.traceback).not.toMatch(/<mecha/);
  });

  it("feeds stdin given up front and ends it with the standard EOFError", async () => {
    const { result } = await run("print(input('a? '))\nprint(input('b? '))", {
      stdin: "one\n",
    });
    expect(result.stdout).toBe("a? one\nb? ");
    expect(result.error).toMatchObject({ type: "EOFError", message: EOF_MESSAGE, line: 2 });
  });

  it("says why input() ran dry when the page cannot wait for the user", async () => {
    const { result } = await run("input('name? ')", { eofMessage: NOT_ISOLATED_EOF_MESSAGE });
    expect(result.error?.message).toMatch(/cross-origin isolated/);
  });

  it("reads all of stdin with sys.stdin", async () => {
    const { result } = await run(
      "import sys\nlines = sys.stdin.readlines()\nprint(len(lines), lines[-1].strip())",
      { stdin: "a\nb\nc\n" },
    );
    expect(result.stdout).toBe("3 c\n");
  });

  it("asks the page to report a read of sys.stdin that input() did not report", async () => {
    const answers = ["Ada\n", "teal\n"];
    state.onMessage = (message) => {
      if (message.type !== "stdin") return;
      // The page's hand-over, at once: the engine finds it as it starts to wait.
      const bytes = new TextEncoder().encode(answers.shift() ?? "");
      state.shared.stdin.set(bytes);
      Atomics.store(state.shared.control, CONTROL.LENGTH, bytes.length);
      Atomics.store(state.shared.control, CONTROL.STDIN, bytes.length ? STDIN_READY : STDIN_EOF);
    };
    try {
      const { result, messages } = await run(
        "import sys\nname = input('Name? ')\ncolour = sys.stdin.readline()\nprint(name, colour.strip())",
        { stdinMode: "wait", notify: true },
      );
      expect(result.stdout).toBe("Name? Ada teal\n");
      const asked = messages.filter((m) => m.type === "input" || m.type === "stdin");
      expect(asked).toEqual([
        expect.objectContaining({ type: "input", prompt: "Name? " }),
        { type: "stdin", id: expect.any(String) },
        { type: "stdin", id: expect.any(String), ask: true },
      ]);
    } finally {
      state.onMessage = () => {};
    }
  });

  it("writes the request's files, runs from /workspace, and passes args", async () => {
    const { result } = await run(
      "import os, sys\nfrom helpers.util import twice\nprint(twice(21), os.getcwd(), sys.argv, __name__, __file__)",
      {
        files: [
          { path: "helpers/__init__.py", content: "" },
          { path: "helpers/util.py", content: "def twice(x):\n    return 2 * x\n" },
        ],
        args: ["--flag"],
      },
    );
    expect(result.stdout).toBe("42 /workspace ['main.py', '--flag'] __main__ /workspace/main.py\n");
  });

  it("refuses files outside the working directory", async () => {
    const { result } = await run("print('no')", { files: [{ path: "../etc/x", content: "" }] });
    expect(result.status).toBe("failed");
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/escapes the working directory/);
  });

  it("leaks nothing from one run to the next", async () => {
    await run(
      [
        "import os, sys, builtins, json",
        "secret = 41",
        "builtins.leaked = True",
        "os.environ['LEAK'] = '1'",
        "sys.path.append('/nowhere')",
        "open('data.txt', 'w').write('x')",
        "open('/tmp/leak.txt', 'w').write('x')",
        "os.makedirs('pkg', exist_ok=True)",
        "open('pkg/mod.py', 'w').write('VALUE = 1')",
        "import pkg.mod",
        "sys.setrecursionlimit(50)",
        "os.chdir('/')",
      ].join("\n"),
    );
    const { result } = await run(
      [
        "import os, sys, builtins",
        "print('secret' in globals(), hasattr(builtins, 'leaked'), 'LEAK' in os.environ)",
        "print('/nowhere' in sys.path, os.listdir('.'), os.path.exists('/tmp/leak.txt'))",
        "print(any(name.startswith('pkg') for name in sys.modules), os.getcwd(), sys.getrecursionlimit() > 50)",
      ].join("\n"),
    );
    expect(result.stdout).toBe(
      "False False False\nFalse ['main.py'] False\nFalse /workspace True\n",
    );
  });

  it("imports a module that changed since the last run afresh", async () => {
    await run("import util\nprint(util.V)", { files: [{ path: "util.py", content: "V = 1" }] });
    const { result } = await run("import util\nprint(util.V)", {
      files: [{ path: "util.py", content: "V = 2" }],
    });
    expect(result.stdout).toBe("2\n");
  });

  it("caps output across both streams and says it was truncated", async () => {
    const { result, messages: sent } = await run(
      "import sys\nsys.stderr.write('é' * 10)\nprint('x' * 100)",
      { outputBytes: 31 },
    );
    expect(sent.some((message) => message.type === "limit")).toBe(true);
    expect(result.truncated).toBe(true);
    expect(new TextEncoder().encode(result.stdout + result.stderr).length).toBeLessThanOrEqual(31);
    expect(result.stderr).toBe("é".repeat(10));
  });

  it("stops a busy loop through the interrupt buffer without printing a traceback", async () => {
    state.onMessage = (message) => {
      if (message.type === "output") {
        Atomics.store(state.shared.control, CONTROL.STOP, 1);
        Atomics.store(state.shared.interrupt, 0, 2);
      }
    };
    try {
      const { outcome, result } = await run("print('spinning')\nwhile True:\n    pass\n");
      expect(outcome).toMatchObject({ stopped: true, exitCode: null });
      expect(result.stdout).toMatch(/^spinning/);
      expect(result.stderr).toBe("");
    } finally {
      state.onMessage = () => {};
    }
  });

  it("wakes time.sleep early when stopped", async () => {
    state.onMessage = (message) => {
      if (message.type === "output") {
        Atomics.store(state.shared.control, CONTROL.STOP, 1);
        Atomics.store(state.shared.interrupt, 0, 2);
      }
    };
    try {
      // Asked to stop when 'tick' arrives: the 30 s sleep ends at once (else the test times out).
      const { outcome, result } = await run(
        "import time\nprint('tick')\ntime.sleep(30)\nprint('late')",
      );
      expect(outcome.stopped).toBe(true);
      expect(result.stdout).toMatch(/^tick/);
      expect(result.stdout).not.toContain("late");
    } finally {
      state.onMessage = () => {};
    }
    // The next run is not interrupted by what stopped the last one.
    const { result } = await run("import time\ntime.sleep(0.01)\nprint('fine')");
    expect(result).toMatchObject({ status: "succeeded", stdout: "fine\n" });
  });

  it("flushes output written without a newline before sleeping", async () => {
    const { messages } = await run(
      "import time\nprint('partial', end='')\ntime.sleep(0.05)\nprint('!')",
    );
    const outputs = messages.filter((message) => message.type === "output");
    expect(outputs[0]).toMatchObject({ data: "partial" });
  });

  describe("a module the browser's Python does not have", () => {
    /** What follows the traceback on stderr. */
    const noteOf = (result: { stderr: string; error?: { traceback: string } }) => {
      expect(result.stderr.startsWith(result.error?.traceback ?? "?")).toBe(true);
      return result.stderr.slice(result.error?.traceback.length);
    };

    it("is Python's own ModuleNotFoundError, then a note on what this Python has", async () => {
      const { result } = await run("import math\nimport numpy as np\nprint(np.zeros(2))\n");
      expect(result).toMatchObject({ status: "failed", exitCode: 1, stdout: "" });
      expect(result.error).toMatchObject({
        type: "ModuleNotFoundError",
        message: "No module named 'numpy'",
        line: 2,
      });
      expect(noteOf(result)).toBe(
        `Note: this program ran in the browser's Python (Pyodide), which has only the standard library and the packages the page loads from its Pyodide distribution (indexURL). "numpy" is not loaded. Run it on a Mecha server that has "numpy", or self-host a full Pyodide distribution (the pyodide npm package has no packages), set indexURL to it and load "numpy" with autoLoadPackages: true or packages: ["numpy"].\n`,
      );
    });

    it("names the distribution's package that provides the module", async () => {
      const { result } = await run("from sklearn.linear_model import LinearRegression\n");
      expect(result.error).toMatchObject({ type: "ModuleNotFoundError", line: 1 });
      expect(noteOf(result)).toContain(
        '"scikit-learn" (which provides "sklearn") is not loaded. Run it on a Mecha server that has "scikit-learn"',
      );
    });

    it("says when no package provides it", async () => {
      const { result } = await run("x = 1\nimport definitely_missing_pkg.sub\n");
      expect(result.error).toMatchObject({
        type: "ModuleNotFoundError",
        message: "No module named 'definitely_missing_pkg'",
        line: 2,
      });
      const note = noteOf(result);
      expect(note).toMatch(/^Note: this program ran in the browser's Python \(Pyodide\)/);
      expect(note).toContain('No package there provides "definitely_missing_pkg".');
      expect(note).toContain('Run it on a Mecha server that has "definitely_missing_pkg"');
      expect(note).not.toContain("autoLoadPackages");
    });

    it("says when the standard library module is one Pyodide leaves out", async () => {
      const { result } = await run("import tkinter\n");
      expect(noteOf(result)).toContain(
        '"tkinter" is a standard library module that Pyodide leaves out.',
      );
    });

    it("adds nothing when the program's own package lacks a module, or handles the error", async () => {
      const own = await run("import helpers.missing\n", {
        files: [{ path: "helpers/__init__.py", content: "" }],
      });
      expect(own.result.error).toMatchObject({ type: "ModuleNotFoundError", line: 1 });
      expect(own.result.stderr).toBe(own.result.error?.traceback);
      const handled = await run(
        "try:\n    import numpy\nexcept ImportError as error:\n    print('without', error.name)\n",
      );
      expect(handled.result).toMatchObject({
        status: "succeeded",
        stdout: "without numpy\n",
        stderr: "",
      });
    });
  });

  it("reports the Python version of the interpreter", () => {
    expect(state.engine.python).toMatch(/^3\.\d+\.\d+$/);
  });
});
