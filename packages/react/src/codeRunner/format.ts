import { isActiveRunState, type RunSnapshot } from "@mecha/client/run-store";
import type { ClientStatus, RunOutcome } from "../internal/clientTypes";
import type { SessionPlace } from "../session/sessionPlace";
import type { RunLocation } from "../useBackendStatus";

/** "850 ms", "1.25 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "512 KiB", "12.3 MiB". */
export function formatMemory(kb: number): string {
  return kb < 1024 ? `${Math.round(kb)} KiB` : `${(kb / 1024).toFixed(1)} MiB`;
}

/** "512 bytes", "64 KiB", "1 MiB", "1.5 GiB": sizes as limits are set, in binary units. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[unit]}`;
}

/** "output limit of 1 MiB reached", or without the size when the result does not say it. */
export function describeOutputLimit(result: Pick<RunOutcome, "limits">): string {
  return result.limits
    ? `output limit of ${formatBytes(result.limits.outputBytes)} reached`
    : "output limit reached";
}

/**
 * Which limit ended a run, with its size when the result says (`RunResult.limits`):
 * "output limit of 1 MiB reached". Null for a run no limit ended.
 */
export function describeLimit(result: RunSnapshot["result"]): string | null {
  const limits = result?.limits;
  switch (result?.status) {
    case "output_exceeded":
      return describeOutputLimit(result);
    case "memory_exceeded":
      return limits
        ? `memory limit of ${formatBytes(limits.memoryMb * 1024 * 1024)} reached`
        : "memory limit reached";
    default:
      return null;
  }
}

/** What the status badge says for each place code can run. */
export const LOCATION_LABELS: Record<RunLocation, string> = {
  server: "Runs on the server",
  browser: "Runs in your browser",
  simulated: "Simulated: server offline",
  offline: "Offline",
  unknown: "Checking server…",
};

/** What the status badge shows: its words, and the place it is coloured as (`data-state`). */
export interface Badge {
  label: string;
  state: RunLocation;
}

/**
 * The status badge: where code runs, from the client's status — or, for a runner whose session
 * is open (or gone), where that session lives, since its runs go there and nowhere else: a
 * session opened in the browser stays there when the server comes back, and one on the server
 * is unreachable while the server is.
 */
export function describeBadge(
  client: { location: RunLocation; status: ClientStatus },
  session: SessionPlace | null,
): Badge {
  if (session?.status === "lost") return { label: "Session lost", state: "offline" };
  if (session?.status === "closed") return { label: "Session closed", state: "offline" };
  const degraded = client.status === "degraded" ? " (degraded)" : "";
  if (session?.status === "ready") {
    switch (session.backend) {
      case "server":
        return client.status === "offline"
          ? { label: "Session on the server (unreachable)", state: "offline" }
          : { label: `Session on the server${degraded}`, state: "server" };
      case "browser":
        return { label: "Session in your browser", state: "browser" };
      case "mock":
        return { label: "Simulated: no state is kept", state: "simulated" };
    }
  }
  const { location } = client;
  return {
    label:
      location === "server" ? `${LOCATION_LABELS.server}${degraded}` : LOCATION_LABELS[location],
    state: location,
  };
}

/**
 * The run's state in one sentence, for the status line; a run that ended with its session lost
 * says so (the variables of earlier runs are gone).
 */
export function describeRun(run: RunSnapshot): string {
  const sentence = describeState(run);
  return run.result?.session?.state === "lost" && !isActiveRunState(run.state)
    ? `${sentence} · the session was lost, and its variables with it`
    : sentence;
}

function describeState(run: RunSnapshot): string {
  const { state, result, error, prompt } = run;
  // Mock output is not a run: its figures and exit status mean nothing, so say only that.
  if (result?.backend === "mock" && state !== "cancelled") {
    return "Simulated output: this code was not run";
  }
  switch (state) {
    case "idle":
      return "Ready";
    case "queued":
      return "Starting…";
    case "running":
      if (prompt !== null) return "Waiting for input";
      // The mock prints its notice and nothing else: no code is running.
      return run.backend === "mock" ? "Simulating…" : "Running…";
    case "succeeded":
      return `Finished in ${formatDuration(result?.durationMs ?? 0)}`;
    case "failed": {
      // The store shows a status a newer server added as `failed`; say it as it came.
      if (result && result.status !== "failed") return `Ended with status "${result.status}"`;
      const failure = result?.error;
      if (failure) {
        const where = failure.line ? ` on line ${failure.line}` : "";
        return `Failed${where}: ${failure.type}: ${failure.message}`;
      }
      if (result?.signal) return `Failed: ended by signal ${result.signal}`;
      return `Failed with exit code ${result?.exitCode ?? "unknown"}`;
    }
    case "timed_out":
      return `Timed out after ${formatDuration(result?.durationMs ?? 0)}`;
    case "memory_exceeded":
    case "output_exceeded":
      return `Stopped: ${describeLimit(result)}`;
    case "cancelled":
      // A run stopped in the queue never ran: no process, no clock (as the server reports it).
      if (!result || result.backend === "mock") return "Stopped";
      if (result.durationMs === 0 && result.cpuTimeMs === null && result.exitCode === null)
        return "Stopped before it started";
      return `Stopped after ${formatDuration(result.durationMs)}`;
    case "lost":
      return "Lost: the runner that held it went away";
    case "error":
      // A run that started did run: only its end was lost (the stream broke, the client gave up).
      if (run.runId !== null) {
        return `Started, but how it ended is unknown: ${error?.message ?? "contact was lost"}`;
      }
      return `Could not run the code: ${error?.message ?? "no backend is available"}`;
  }
}
