import { describe, expect, it } from "vitest";
import { health, result as wave1Result } from "../test/fixtures";
import {
  createProblem,
  ExecuteResponse,
  HealthResponse,
  Problem,
  parseRunEvent,
  RunEvent,
  RunRequest,
  RunResult,
  StdinRequest,
} from "./index";

const result: RunResult = {
  ...wave1Result,
  status: "failed",
  exitCode: 1,
  stdout: "hi\n",
  stderr: "Traceback...",
  error: { type: "ValueError", message: "bad", line: 3, traceback: "Traceback..." },
};

describe("protocol v1 schemas, as wave 1 sent them", () => {
  it("round-trips every event through JSON", () => {
    const events: RunEvent[] = [
      { type: "started", id: "r1" },
      { type: "stdout", data: "héllo\r" },
      { type: "stderr", data: "oops\n" },
      { type: "input", prompt: "Name? " },
      { type: "exit", result },
    ];
    for (const event of events) {
      expect(RunEvent.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
    }
  });

  it("accepts a full run request and a minimal one", () => {
    expect(RunRequest.parse({ language: "python", code: "print(1)" })).toEqual({
      language: "python",
      code: "print(1)",
    });
    const full = {
      language: "python",
      code: "import util",
      stdin: "a\n",
      files: [{ path: "util.py", content: "x = 1" }],
      args: ["--x"],
      limits: { timeoutMs: 1000, memoryMb: 64, outputBytes: 1024 },
    };
    expect(RunRequest.parse(full)).toEqual(full);
  });

  it.each([
    ["an unknown language", { language: "ruby", code: "puts 1" }],
    ["missing code", { language: "python" }],
    ["code that is not a string", { language: "python", code: 42 }],
    ["a negative timeout", { language: "python", code: "", limits: { timeoutMs: -1 } }],
    ["a fractional memory limit", { language: "python", code: "", limits: { memoryMb: 1.5 } }],
    ["a file without a path", { language: "python", code: "", files: [{ content: "" }] }],
    ["args that are not strings", { language: "python", code: "", args: [1] }],
  ])("rejects %s", (_name, body) => {
    expect(RunRequest.safeParse(body).success).toBe(false);
  });

  it("rejects events of an unknown type or with missing fields", () => {
    expect(RunEvent.safeParse({ type: "progress", data: "" }).success).toBe(false);
    expect(RunEvent.safeParse({ type: "stdout" }).success).toBe(false);
    expect(RunEvent.safeParse({ type: "exit", result: { ...result, status: "ok" } }).success).toBe(
      false,
    );
  });

  it("validates results, including null accounting where the kernel cannot measure", () => {
    expect(RunResult.parse({ ...result, cpuTimeMs: null, memoryKb: null }).cpuTimeMs).toBeNull();
    expect(RunResult.safeParse({ ...result, exitCode: "1" }).success).toBe(false);
  });

  it("validates health bodies against the protocol version", () => {
    expect(HealthResponse.parse(health)).toEqual(health);
    const other = HealthResponse.safeParse({ ...health, protocol: 2 });
    expect(other.error?.issues.map((issue) => issue.message)).toEqual(["protocol must be 1"]);
    expect(HealthResponse.safeParse({ ...health, protocol: "1" }).success).toBe(false);
    expect(HealthResponse.safeParse({ ...health, status: "fine" }).success).toBe(false);
  });

  it("builds problems with the status that matches their code", () => {
    const problem = createProblem("busy", "Queue full", { retryAfter: 1 });
    expect(problem).toMatchObject({ status: 503, code: "busy", title: "Server busy" });
    expect(Problem.parse(problem)).toEqual(problem);
    expect(createProblem("run_finished", "done").status).toBe(409);
    expect(Problem.safeParse({ ...problem, code: "teapot" }).success).toBe(false);
  });

  it("validates stdin and legacy execute bodies", () => {
    expect(StdinRequest.parse({ data: "x\n", eof: true })).toEqual({ data: "x\n", eof: true });
    expect(StdinRequest.safeParse({ eof: true }).success).toBe(false);
    expect(
      ExecuteResponse.parse({
        success: true,
        output: "hi\n",
        error: null,
        execution_time: 0.01,
        memory_used: 8000,
      }).success,
    ).toBe(true);
  });

  it("reads a wave-1 stream, without seq, as known events", () => {
    const stream = [
      { type: "started", id: "r1" },
      { type: "stdout", data: "hi\n" },
      { type: "exit", result },
    ];
    for (const event of stream) {
      expect(parseRunEvent(event)).toEqual({ kind: "known", event });
    }
  });

  it("drops fields it does not know, in requests and answers", () => {
    const request = { language: "python", code: "", priority: "high", limits: { gpus: 2 } };
    expect(RunRequest.parse(request)).toEqual({ language: "python", code: "", limits: {} });
    expect(RunResult.parse({ ...result, costUsd: 0.01 })).toEqual(result);
    expect(StdinRequest.parse({ data: "", echo: true })).toEqual({ data: "" });
  });
});
