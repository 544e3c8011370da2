import { describe, expect, it } from "vitest";
import { result } from "../test/fixtures";
import { type DisplayEvent, parseRunEvent, RunEvent } from "./index";

const plot: DisplayEvent = {
  type: "display",
  seq: 2,
  data: { "text/plain": "<Figure size 640x480>", "image/png": "iVBORw0KGgo=" },
  metadata: { "image/png": { width: 640, height: 480 } },
};

describe("run events", () => {
  it.each<[string, unknown]>([
    ["started", { type: "started", seq: 0, id: "r1" }],
    [
      "started with the run's limits",
      {
        type: "started",
        seq: 0,
        id: "r1",
        limits: { timeoutMs: 120_000, memoryMb: 256, outputBytes: 1 << 20 },
      },
    ],
    ["stdout", { type: "stdout", seq: 1, data: "hi\n" }],
    ["stderr", { type: "stderr", seq: 1, data: "oops\n" }],
    ["input", { type: "input", seq: 3, prompt: "Name? " }],
    ["display", plot],
    ["display without metadata", { type: "display", seq: 4, data: { "text/plain": "42" } }],
    ["exit", { type: "exit", seq: 5, result }],
  ])("parses a %s event with its seq", (_name, event) => {
    expect(RunEvent.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
  });

  it.each<[string, unknown]>([
    ["a negative seq", { type: "stdout", seq: -1, data: "" }],
    [
      "a started event whose limits lack one",
      { type: "started", id: "r1", limits: { timeoutMs: 1000, memoryMb: 256 } },
    ],
    ["a fractional seq", { type: "stdout", seq: 1.5, data: "" }],
    ["a seq that is a string", { type: "stdout", seq: "1", data: "" }],
    ["a display without text/plain", { type: "display", seq: 0, data: { "image/png": "AA==" } }],
    ["a display whose value is not a string", { type: "display", data: { "text/plain": 42 } }],
    [
      "a display with a bundle entry that is not a string",
      { type: "display", data: { "text/plain": "", "image/png": 5 } },
    ],
    ["a display without data", { type: "display", seq: 0 }],
  ])("rejects %s", (_name, event) => {
    expect(RunEvent.safeParse(event).success).toBe(false);
  });

  it("says why a display is rejected", () => {
    const parsed = RunEvent.safeParse({ type: "display", data: { "image/png": "AA==" } });
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["data", "text/plain"],
      message: '"text/plain" is required: a string, the fallback every client can show',
    });
  });

  it("drops fields it does not know", () => {
    expect(RunEvent.parse({ type: "stdout", seq: 1, data: "x", colour: "red" })).toEqual({
      type: "stdout",
      seq: 1,
      data: "x",
    });
    const exit = RunEvent.parse({ type: "exit", result: { ...result, gpuMs: 4 } });
    expect(exit).toEqual({ type: "exit", result });
  });
});

describe("parseRunEvent, as a client reads a stream", () => {
  it("hands over known events, a wave-1 one without seq included", () => {
    expect(parseRunEvent({ type: "stdout", data: "x" })).toEqual({
      kind: "known",
      event: { type: "stdout", data: "x" },
    });
    expect(parseRunEvent(plot)).toEqual({ kind: "known", event: plot });
  });

  it.each<[string, unknown, unknown]>([
    ["with seq", { type: "progress", seq: 7, percent: 40 }, { type: "progress", seq: 7 }],
    ["without seq", { type: "heartbeat" }, { type: "heartbeat" }],
  ])("marks an event of a type it does not know %s as unknown", (_name, value, event) => {
    expect(parseRunEvent(value)).toEqual({ kind: "unknown", event });
  });

  it.each<[string, unknown]>([
    ["a known type with a missing field", { type: "stdout", seq: 1 }],
    ["a known type with a field of the wrong type", { type: "input", prompt: 3 }],
    ["a display without text/plain", { type: "display", data: {} }],
    ["no type", { data: "x" }],
    ["an empty type", { type: "" }],
    ["a type that is not a string", { type: 4 }],
    ["an unknown type with a bad seq", { type: "progress", seq: -1 }],
    ["something that is not an object", "stdout"],
    ["null", null],
  ])("reports %s as invalid", (_name, value) => {
    const parsed = parseRunEvent(value);
    expect(parsed.kind).toBe("invalid");
    if (parsed.kind === "invalid") expect(parsed.error.issues.length).toBeGreaterThan(0);
  });

  it("reads an exit whose status it does not know, verbatim", () => {
    const exit = { type: "exit", seq: 9, result: { ...result, status: "preempted" } };
    expect(RunEvent.safeParse(exit).success).toBe(false);
    expect(parseRunEvent(exit)).toEqual({ kind: "known", event: exit });
  });

  it("still rejects an exit whose result is malformed", () => {
    const parsed = parseRunEvent({ type: "exit", result: { ...result, exitCode: "0" } });
    expect(parsed.kind).toBe("invalid");
  });
});
