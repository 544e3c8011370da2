import { describe, expect, it } from "vitest";
import { createOutputChannel, type OutputStream } from "../src/browser/outputChannel";
import { parseTraceback } from "../src/browser/parseTraceback";
import { resolveIndexURL } from "../src/browser/startWorker";
import {
  EOF_MESSAGE,
  NOT_ISOLATED_EOF_MESSAGE,
  resolveLimits,
  toRunJob,
} from "../src/browser/toRunJob";
import { toRunResult } from "../src/browser/toRunResult";

const ZERO_DIVISION = `Traceback (most recent call last):
  File "/workspace/main.py", line 7, in <module>
    f()
  File "/workspace/main.py", line 3, in f
    return 1/0
           ~^~
ZeroDivisionError: division by zero
`;

const SYNTAX = `  File "/workspace/main.py", line 1
    x = (
        ^
SyntaxError: '(' was never closed
`;

const CHAINED = `Traceback (most recent call last):
  File "/workspace/main.py", line 2, in <module>
    {}["a"]
KeyError: 'a'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/workspace/main.py", line 4, in <module>
    raise ValueError("bad: really")
ValueError: bad: really
`;

const IN_LIBRARY = `Traceback (most recent call last):
  File "/lib/python314.zip/_pyodide/_base.py", line 597, in eval_code
    .run(globals, locals)
  File "<mecha>", line 402, in run
  File "/workspace/util.py", line 9, in helper
    raise RuntimeError("from a module")
RuntimeError: from a module
`;

describe("parseTraceback", () => {
  it.each([
    ["a nested call", ZERO_DIVISION, "ZeroDivisionError", "division by zero", 3],
    ["a syntax error", SYNTAX, "SyntaxError", "'(' was never closed", 1],
    ["chained exceptions (the last one counts)", CHAINED, "ValueError", "bad: really", 4],
    ["frames only outside main.py", IN_LIBRARY, "RuntimeError", "from a module", null],
    [
      "a qualified exception name",
      'Traceback (most recent call last):\n  File "/workspace/main.py", line 2, in <module>\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n',
      "json.decoder.JSONDecodeError",
      "Expecting value: line 1 column 1 (char 0)",
      2,
    ],
    [
      "an exception without a message",
      'Traceback (most recent call last):\n  File "/workspace/main.py", line 1, in <module>\nKeyboardInterrupt\n',
      "KeyboardInterrupt",
      "",
      1,
    ],
    [
      "a message over several lines",
      'Traceback (most recent call last):\n  File "/workspace/main.py", line 5, in <module>\nValueError: first\nsecond\n',
      "ValueError",
      "first\nsecond",
      5,
    ],
  ])("reads %s", (_name, traceback, type, message, line) => {
    expect(parseTraceback(traceback)).toEqual({ type, message, line, traceback });
  });

  it("keeps text it cannot read as the message of an Exception", () => {
    expect(parseTraceback("something odd happened")).toEqual({
      type: "Exception",
      message: "something odd happened",
      line: null,
      traceback: "something odd happened\n",
    });
  });
});

describe("toRunJob", () => {
  const context = {
    id: "browser_1",
    interactive: false,
    isolated: true,
    queuedStdin: "",
    limits: { timeoutMs: 1000, outputBytes: 100 },
    autoLoadPackages: false,
  };
  const request = { language: "python" as const, code: "print(1)" };

  it("closes stdin after what was given for run()", () => {
    expect(toRunJob({ ...request, stdin: "a\n" }, context)).toMatchObject({
      stdin: "a\n",
      stdinMode: "closed",
      notify: false,
      eofMessage: EOF_MESSAGE,
    });
    expect(toRunJob(request, context)).toMatchObject({ stdin: "", stdinMode: "closed" });
  });

  it("waits for sendStdin in an interactive run when the page is isolated", () => {
    expect(toRunJob(request, { ...context, interactive: true })).toMatchObject({
      stdin: "",
      stdinMode: "wait",
      notify: true,
    });
  });

  it("uses what was sent before the start, and says why input ran out, when not isolated", () => {
    const job = toRunJob(request, {
      ...context,
      interactive: true,
      isolated: false,
      queuedStdin: "Ada\n",
    });
    expect(job).toMatchObject({ stdin: "Ada\n", stdinMode: "closed", notify: false });
    expect(job.eofMessage).toBe(NOT_ISOLATED_EOF_MESSAGE);
    expect(job.eofMessage).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
  });

  it("treats stdin given up front to start() as the whole input, like the server", () => {
    expect(toRunJob({ ...request, stdin: "x\n" }, { ...context, interactive: true })).toMatchObject(
      { stdin: "x\n", stdinMode: "closed", notify: false, eofMessage: EOF_MESSAGE },
    );
  });

  it("passes files and args", () => {
    const files = [{ path: "util.py", content: "X = 1" }];
    expect(toRunJob({ ...request, files, args: ["-v"] }, context)).toMatchObject({
      files,
      args: ["-v"],
      outputBytes: 100,
    });
  });
});

describe("resolveLimits", () => {
  it("takes the request's limits, the defaults otherwise, and clamps to the maxima", () => {
    expect(resolveLimits(undefined)).toEqual({ timeoutMs: 10_000, outputBytes: 1 << 20 });
    expect(resolveLimits({ timeoutMs: 2_000 })).toEqual({ timeoutMs: 2_000, outputBytes: 1 << 20 });
    expect(resolveLimits({ timeoutMs: 999_999, outputBytes: 1 << 30 })).toEqual({
      timeoutMs: 60_000,
      outputBytes: 10 << 20,
    });
    expect(
      resolveLimits({}, { timeoutMs: 5, outputBytes: 5 }, { timeoutMs: 4, outputBytes: 9 }),
    ).toEqual({ timeoutMs: 4, outputBytes: 5 });
  });
});

describe("toRunResult", () => {
  const base = { id: "browser_1", stdout: "out", stderr: "", truncated: false, durationMs: 50 };
  const outcome = { exitCode: 0, stopped: false, truncated: false, durationMs: 12.3456 };

  it("reports a finished program with its own duration and nothing unmeasured", () => {
    expect(toRunResult({ ...base, outcome })).toEqual({
      id: "browser_1",
      language: "python",
      status: "succeeded",
      exitCode: 0,
      signal: null,
      stdout: "out",
      stderr: "",
      truncated: false,
      durationMs: 12.35,
      cpuTimeMs: null,
      memoryKb: null,
    });
  });

  it.each([
    [{ ...outcome, exitCode: 2 }, undefined, "failed", 2],
    [
      {
        ...outcome,
        exitCode: 1,
        error: { type: "MemoryError", message: "", line: 1, traceback: "" },
      },
      undefined,
      "memory_exceeded",
      1,
    ],
    [
      { ...outcome, exitCode: null, crashed: "RangeError: Out of memory" },
      undefined,
      "memory_exceeded",
      null,
    ],
    [{ ...outcome, exitCode: null, crashed: "unreachable executed" }, undefined, "failed", null],
    [{ ...outcome, exitCode: null, stopped: true }, "timed_out", "timed_out", null],
    [{ ...outcome, exitCode: 0 }, "cancelled", "cancelled", null],
    [undefined, "output_exceeded", "output_exceeded", null],
    [undefined, undefined, "failed", null],
  ] as const)("maps %o stopped by %s to %s", (given, stopReason, status, exitCode) => {
    const result = toRunResult({ ...base, outcome: given, stopReason });
    expect(result).toMatchObject({ status, exitCode, signal: null });
  });

  it("drops the error of a program the page stopped, and uses the page's clock", () => {
    const error = { type: "KeyboardInterrupt", message: "", line: 3, traceback: "…" };
    const result = toRunResult({
      ...base,
      outcome: { ...outcome, error },
      stopReason: "cancelled",
    });
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBe(50);
  });

  it("keeps the error of a program that failed on its own", () => {
    const error = { type: "ValueError", message: "bad", line: 3, traceback: "…" };
    expect(toRunResult({ ...base, outcome: { ...outcome, exitCode: 1, error } }).error).toEqual(
      error,
    );
  });
});

describe("createOutputChannel", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  function channel(limit = 1000, burst = 8) {
    let time = 0;
    const sent: [OutputStream, string][] = [];
    let limits = 0;
    const output = createOutputChannel({
      limit,
      burst,
      windowMs: 20,
      now: () => time,
      emit: (stream, data) => sent.push([stream, data]),
      onLimit: () => limits++,
    });
    return {
      output,
      sent,
      limits: () => limits,
      tick: (ms: number) => {
        time += ms;
      },
    };
  }

  it("keeps a character split across writes whole", () => {
    const { output, sent } = channel();
    const bytes = encode("é🐍");
    output.push("stdout", bytes.subarray(0, 1));
    output.push("stdout", bytes.subarray(1, 4));
    output.push("stdout", bytes.subarray(4));
    output.finish();
    expect(sent.map(([, data]) => data).join("")).toBe("é🐍");
  });

  it("caps both streams together without splitting a character, once", () => {
    const { output, sent, limits } = channel(5);
    output.push("stderr", encode("ab"));
    output.push("stdout", encode("cé🐍"));
    output.push("stdout", encode("more"));
    output.finish();
    expect(sent).toEqual([
      ["stderr", "ab"],
      ["stdout", "cé"],
    ]);
    expect(output.truncated).toBe(true);
    expect(limits()).toBe(1);
  });

  it("sends writes as they come, and batches a flood without losing or reordering any", () => {
    const { output, sent, tick } = channel(1 << 20, 4);
    for (let index = 0; index < 100; index++) output.push("stdout", encode(`${index}\n`));
    expect(sent.length).toBe(4);
    tick(25);
    output.push("stderr", encode("warn\n"));
    output.push("stdout", encode("last\n"));
    output.finish();
    const text = sent.map(([, data]) => data).join("");
    expect(text).toBe(
      `${Array.from({ length: 100 }, (_, index) => `${index}\n`).join("")}warn\nlast\n`,
    );
    expect(sent.length).toBeLessThan(10);
    expect(sent.find(([stream]) => stream === "stderr")).toEqual(["stderr", "warn\n"]);
  });

  it("sends what is batched on flush (before the program sleeps or waits)", () => {
    const { output, sent } = channel(1 << 20, 1);
    output.push("stdout", encode("a"));
    output.push("stdout", encode("b"));
    expect(sent).toEqual([["stdout", "a"]]);
    output.flush();
    expect(sent).toEqual([
      ["stdout", "a"],
      ["stdout", "b"],
    ]);
  });
});

describe("resolveIndexURL", () => {
  it("makes the Pyodide folder absolute, with a trailing slash, for the blob worker", () => {
    expect(resolveIndexURL("/pyodide", "https://app.example/editor/?x=1")).toBe(
      "https://app.example/pyodide/",
    );
    expect(resolveIndexURL("vendor/pyodide/", "https://app.example/editor/")).toBe(
      "https://app.example/editor/vendor/pyodide/",
    );
    expect(resolveIndexURL("https://cdn.example/pyodide/v314/", undefined)).toBe(
      "https://cdn.example/pyodide/v314/",
    );
    expect(resolveIndexURL("/pyodide/", undefined)).toBe("/pyodide/");
  });
});
