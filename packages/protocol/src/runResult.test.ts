import { describe, expect, it } from "vitest";
import { limits, result } from "../test/fixtures";
import { isRunStatus, LenientRunResult, RunPending, RunResult, RunStatus } from "./index";

describe("run results", () => {
  it("accepts every wave-2 field together", () => {
    const full = {
      ...result,
      displays: [{ data: { "text/plain": "<Figure>", "image/png": "iVBORw0KGgo=" } }],
      files: [
        { path: "chart.png", size: 4, content: "iVBO" },
        { path: "out/big.csv", size: 9_000_000, content: null, truncated: true },
      ],
      limits,
      session: { id: "s1", state: "kept" },
    };
    expect(RunResult.parse(full)).toEqual(full);
  });

  it("knows lost runs", () => {
    const lost = {
      ...result,
      status: "lost",
      exitCode: null,
      error: { type: "RunnerLost", message: "the runner stopped", line: null, traceback: "" },
    };
    expect(RunResult.parse(lost).status).toBe("lost");
    expect(RunStatus.options).toContain("lost");
  });

  it.each<[string, unknown]>([
    ["a display without text/plain", { displays: [{ data: { "image/png": "AA==" } }] }],
    [
      "a returned file whose content is neither text nor null",
      { files: [{ path: "a", size: 1, content: 5 }] },
    ],
    ["a returned file with a negative size", { files: [{ path: "a", size: -1, content: null }] }],
    ["limits missing one", { limits: { timeoutMs: 1, memoryMb: 1 } }],
    ["limits of zero", { limits: { ...limits, outputBytes: 0 } }],
    ["a session state it does not know", { session: { id: "s1", state: "paused" } }],
    ["a status it does not know", { status: "preempted" }],
  ])("rejects %s", (_name, patch) => {
    expect(RunResult.safeParse({ ...result, ...(patch as object) }).success).toBe(false);
  });

  it("lets a client read a status it does not know, and tell it apart", () => {
    const parsed = LenientRunResult.parse({ ...result, status: "preempted" });
    expect(parsed.status).toBe("preempted");
    expect(isRunStatus(parsed.status)).toBe(false);
    expect(isRunStatus("timed_out")).toBe(true);
    expect(LenientRunResult.safeParse({ ...result, status: 3 }).success).toBe(false);
  });

  it.each([
    [{ id: "r1", status: "queued" }, true],
    [{ id: "r1", status: "running" }, true],
    [{ id: "r1", status: "succeeded" }, false],
    [{ status: "queued" }, false],
  ])("validates the pending body %j", (body, ok) => {
    expect(RunPending.safeParse(body).success).toBe(ok);
  });
});
