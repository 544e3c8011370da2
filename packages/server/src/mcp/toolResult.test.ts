import type { RunResult } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import { OUTCOME } from "../../test/support/fakeRuntime";
import { MAX_TEXT_CHARS, toToolResult } from "./toolResult";

const LIMITS = { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 };

const result = (extra: Partial<RunResult>): RunResult => ({
  id: "run_1",
  language: "python",
  ...OUTCOME,
  limits: LIMITS,
  ...extra,
});

const kept = { id: "ses_1", state: "kept" as const };
const lost = { id: "ses_1", state: "lost" as const };
const texts = (answer: ReturnType<typeof toToolResult>) =>
  answer.content.map((part) => (part.type === "text" ? part.text : `[${part.type}]`));

describe("toToolResult", () => {
  it.each([
    ["nothing printed", {}, ["(no output)"]],
    ["stdout alone, as it is", { stdout: "42\n" }, ["42\n"]],
    ["stderr alone, labelled", { stderr: "warn\n" }, ["stderr:\nwarn\n"]],
    ["both, labelled", { stdout: "a\n", stderr: "b\n" }, ["stdout:\na\n", "stderr:\nb\n"]],
    [
      "a final expression's value and a plot",
      {
        displays: [
          { data: { "text/plain": "10" } },
          { data: { "text/plain": "<Figure>", "image/png": "iVBORw0KGgo=" } },
        ],
      },
      ["10", "[image]"],
    ],
  ] as const)("a run that succeeded: %s", (_, extra, expected) => {
    const answer = toToolResult(result(extra as Partial<RunResult>));
    expect(texts(answer)).toEqual(expected);
    expect(answer.isError).toBeUndefined();
  });

  it("sends an image display as image content of its type", () => {
    const answer = toToolResult(
      result({ displays: [{ data: { "text/plain": "<Image>", "image/jpeg": "/9j/" } }] }),
    );
    expect(answer.content).toEqual([{ type: "image", data: "/9j/", mimeType: "image/jpeg" }]);
  });

  it.each([
    [
      "an exception, with its line",
      {
        status: "failed",
        exitCode: 1,
        stderr: "Traceback …\nZeroDivisionError: division by zero\n",
        error: {
          type: "ZeroDivisionError",
          message: "division by zero",
          line: 2,
          traceback: "Traceback …\nZeroDivisionError: division by zero\n",
        },
        session: kept,
      },
      "The code raised ZeroDivisionError: division by zero (line 2). The session's state (variables, imports, files) is kept.",
    ],
    ["an exit code", { status: "failed", exitCode: 3 }, "The program exited with code 3."],
    [
      "a time limit, the session lost",
      { status: "timed_out", exitCode: null, signal: "SIGKILL", session: lost },
      "The run was stopped at its time limit of 10 s. The session ended with it: its variables, imports and files are gone, and the next call starts a new session.",
    ],
    [
      "the memory limit",
      { status: "memory_exceeded", exitCode: null, signal: "SIGKILL" },
      "The run went over its memory limit of 256 MB.",
    ],
    [
      "the output limit",
      { status: "output_exceeded", truncated: true },
      "The run was stopped: its output passed the limit of 1 MiB, and what is above is cut there.",
    ],
    ["a cancel", { status: "cancelled" }, "The run was cancelled."],
    [
      "a status this version does not know",
      {
        status: "lost",
        error: { type: "RunnerLost", message: "the runner went away", line: null, traceback: "" },
      },
      "The run ended as lost: the runner went away.",
    ],
  ] as const)("a run that did not succeed is an error saying why: %s", (_, extra, why) => {
    const answer = toToolResult(result(extra as Partial<RunResult>));
    expect(answer.isError).toBe(true);
    expect(texts(answer).at(-1)).toBe(why);
  });

  it("keeps the traceback when the run never printed it, and puts a note first", () => {
    const answer = toToolResult(
      result({
        status: "failed",
        exitCode: 1,
        error: { type: "E", message: "m", line: null, traceback: "Traceback …\nE: m\n" },
      }),
      "[a note]",
    );
    expect(texts(answer)).toEqual(["[a note]", "Traceback …\nE: m\n", "The code raised E: m."]);
  });

  it("says when output was cut", () => {
    expect(texts(toToolResult(result({ stdout: "x", truncated: true })))).toEqual([
      "x",
      "The output was cut at the run's output limit.",
    ]);
  });

  it("cuts the middle of a text past MAX_TEXT_CHARS, saying how much, keeping its ends", () => {
    const flood = `first line\n${"x".repeat(3 * MAX_TEXT_CHARS)}\nlast line\n`;
    const [stdout, display] = texts(
      toToolResult(result({ stdout: flood, displays: [{ data: { "text/plain": flood } }] })),
    );
    for (const part of [stdout!, display!]) {
      expect(part.length).toBeLessThan(MAX_TEXT_CHARS + 100);
      expect(part.startsWith("first line\n")).toBe(true);
      expect(part.endsWith("\nlast line\n")).toBe(true);
      expect(part).toContain(`[… ${flood.length - MAX_TEXT_CHARS} characters cut …]`);
    }
    // What fits goes as it is.
    expect(texts(toToolResult(result({ stdout: "x".repeat(MAX_TEXT_CHARS) })))).toEqual([
      "x".repeat(MAX_TEXT_CHARS),
    ]);
  });
});
