import type { RunSnapshot } from "@mecha/client/run-store";
import { describe, expect, it } from "vitest";
import type { ClientStatus, RunOutcome } from "../internal/clientTypes";
import type { SessionPlace } from "../session/sessionPlace";
import type { RunLocation } from "../useBackendStatus";
import { type Badge, describeBadge, describeLimit, describeRun, formatBytes } from "./format";

describe("formatBytes", () => {
  it.each([
    [512, "512 bytes"],
    [64 * 1024, "64 KiB"],
    [1 << 20, "1 MiB"],
    [1.5 * (1 << 20), "1.5 MiB"],
    [10 << 20, "10 MiB"],
    [1_000_000, "976.6 KiB"],
    [2 ** 30, "1 GiB"],
  ])("%d → %s", (bytes, words) => {
    expect(formatBytes(bytes)).toBe(words);
  });
});

describe("describeLimit", () => {
  const limits = { timeoutMs: 5000, memoryMb: 128, outputBytes: 65_536 };
  it.each<[string, object, string | null]>([
    [
      "output, with limits",
      { status: "output_exceeded", limits },
      "output limit of 64 KiB reached",
    ],
    ["output, without", { status: "output_exceeded" }, "output limit reached"],
    [
      "memory, with limits",
      { status: "memory_exceeded", limits },
      "memory limit of 128 MiB reached",
    ],
    ["memory, without", { status: "memory_exceeded" }, "memory limit reached"],
    ["a failure", { status: "failed", limits }, null],
  ])("%s", (_name, result, words) => {
    expect(describeLimit(result as Parameters<typeof describeLimit>[0])).toBe(words);
  });
});

describe("describeBadge", () => {
  const online = { location: "server" as RunLocation, status: "online" as ClientStatus };
  const offline = { location: "browser" as RunLocation, status: "offline" as ClientStatus };
  const ready = (backend: SessionPlace["backend"]): SessionPlace => ({ status: "ready", backend });
  it.each<[string, typeof online, SessionPlace | null, Badge]>([
    [
      "no session: the client's place",
      online,
      null,
      { label: "Runs on the server", state: "server" },
    ],
    [
      "no session, degraded",
      { location: "server", status: "degraded" },
      null,
      { label: "Runs on the server (degraded)", state: "server" },
    ],
    [
      "a session not open yet: where it would open",
      offline,
      { status: "idle", backend: null },
      { label: "Runs in your browser", state: "browser" },
    ],
    [
      "a session on the server",
      online,
      ready("server"),
      { label: "Session on the server", state: "server" },
    ],
    [
      "a session on a server now unreachable: not the browser, where runs would otherwise go",
      offline,
      ready("server"),
      { label: "Session on the server (unreachable)", state: "offline" },
    ],
    [
      "a session in the browser, with the server back",
      online,
      ready("browser"),
      { label: "Session in your browser", state: "browser" },
    ],
    [
      "a simulated session",
      offline,
      ready("mock"),
      { label: "Simulated: no state is kept", state: "simulated" },
    ],
    [
      "a lost session",
      online,
      { status: "lost", backend: "server" },
      { label: "Session lost", state: "offline" },
    ],
    [
      "a closed session",
      online,
      { status: "closed", backend: null },
      { label: "Session closed", state: "offline" },
    ],
  ])("%s", (_name, client, session, badge) => {
    expect(describeBadge(client, session)).toEqual(badge);
  });
});

describe("describeRun says how a run ended, and no more than is known", () => {
  const ended = (partial: Partial<RunOutcome>): RunOutcome => ({
    id: "r1",
    language: "python",
    status: "failed",
    exitCode: 1,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 42,
    cpuTimeMs: 30,
    memoryKb: 9000,
    backend: "server",
    ...partial,
  });
  const snapshot = (patch: Partial<RunSnapshot>): RunSnapshot => ({
    state: "idle",
    prompt: null,
    result: null,
    error: null,
    backend: null,
    runId: null,
    ...patch,
  });
  it.each<[string, RunSnapshot, string]>([
    [
      "a status a newer server added, verbatim (not as a failure with no exit code)",
      snapshot({
        state: "failed",
        result: ended({ status: "quota_exceeded", exitCode: null }),
        runId: "r1",
      }),
      'Ended with status "quota_exceeded"',
    ],
    [
      "a failure by a signal names the signal",
      snapshot({
        state: "failed",
        result: ended({ exitCode: null, signal: "SIGSEGV" }),
        runId: "r1",
      }),
      "Failed: ended by signal SIGSEGV",
    ],
    [
      "a failure by its exit code",
      snapshot({ state: "failed", result: ended({}), runId: "r1" }),
      "Failed with exit code 1",
    ],
    [
      "no backend could run it",
      snapshot({ state: "error", error: new Error("Could not reach the server.") }),
      "Could not run the code: Could not reach the server.",
    ],
    [
      "a run that started and then could not be followed: it ran, its end is unknown",
      snapshot({
        state: "error",
        backend: "server",
        runId: "r1",
        error: new Error("The run stream broke (reset)."),
      }),
      "Started, but how it ended is unknown: The run stream broke (reset).",
    ],
    [
      "a run stopped while it ran says how long it had run",
      snapshot({
        state: "cancelled",
        result: ended({ status: "cancelled", exitCode: null, signal: "SIGKILL", durationMs: 1250 }),
        runId: "r1",
      }),
      "Stopped after 1.25 s",
    ],
    [
      "a run stopped while it waited in the queue never ran",
      snapshot({
        state: "cancelled",
        result: ended({
          status: "cancelled",
          exitCode: null,
          durationMs: 0,
          cpuTimeMs: null,
          memoryKb: null,
        }),
        runId: "r1",
      }),
      "Stopped before it started",
    ],
    [
      "a stop with no result from the backend says only that",
      snapshot({ state: "cancelled", runId: "r1" }),
      "Stopped",
    ],
    [
      "the mock at work: nothing runs",
      snapshot({ state: "running", backend: "mock", runId: "mock-1" }),
      "Simulating…",
    ],
    [
      "a real backend at work",
      snapshot({ state: "running", backend: "browser", runId: "b-1" }),
      "Running…",
    ],
  ])("%s", (_name, run, words) => {
    expect(describeRun(run)).toBe(words);
  });
});
