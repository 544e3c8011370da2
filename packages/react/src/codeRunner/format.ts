import type { RunSnapshot } from "@mecha/client/run-store";
import type { RunLocation } from "../useBackendStatus";

/** "850 ms", "1.25 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** "512 KiB", "12.3 MiB". */
export function formatMemory(kb: number): string {
  return kb < 1024 ? `${Math.round(kb)} KiB` : `${(kb / 1024).toFixed(1)} MiB`;
}

/** What the status badge says for each place code can run. */
export const LOCATION_LABELS: Record<RunLocation, string> = {
  server: "Runs on the server",
  browser: "Runs in your browser",
  simulated: "Simulated: server offline",
  offline: "Offline",
  unknown: "Checking server…",
};

/** The run's state in one sentence, for the status line. */
export function describeRun(run: RunSnapshot): string {
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
      return prompt !== null ? "Waiting for input" : "Running…";
    case "succeeded":
      return `Finished in ${formatDuration(result?.durationMs ?? 0)}`;
    case "failed": {
      const failure = result?.error;
      if (failure) {
        const where = failure.line ? ` on line ${failure.line}` : "";
        return `Failed${where}: ${failure.type}: ${failure.message}`;
      }
      return `Failed with exit code ${result?.exitCode ?? "unknown"}`;
    }
    case "timed_out":
      return `Timed out after ${formatDuration(result?.durationMs ?? 0)}`;
    case "memory_exceeded":
      return `Stopped: memory limit exceeded`;
    case "output_exceeded":
      return `Stopped: output limit exceeded`;
    case "cancelled":
      return "Stopped";
    case "lost":
      return "Lost: the runner that held it went away";
    case "error":
      return `Could not run the code: ${error?.message ?? "no backend is available"}`;
  }
}
