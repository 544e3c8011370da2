import type { HealthResponse, RunEvent, RunResult } from "@mecha/protocol";

export const BASE = "http://mecha.test";

export function healthBody(status: HealthResponse["status"] = "ok"): HealthResponse {
  return {
    status,
    version: "0.1.0",
    protocol: 1,
    runtimes:
      status === "unavailable"
        ? []
        : [{ language: "python", version: "3.11.2", isolation: "process" }],
    capacity: { running: 0, queued: 0, maxConcurrent: 2, maxQueued: 8 },
    uptimeMs: 1000,
  };
}

export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    id: "run_1",
    language: "python",
    status: "succeeded",
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 12,
    cpuTimeMs: 9,
    memoryKb: 8000,
    ...overrides,
  };
}

export function problem(code: string, status: number, extra: Record<string, unknown> = {}) {
  return {
    type: `urn:mecha:problem:${code}`,
    title: code,
    status,
    detail: `detail of ${code}`,
    code,
    ...extra,
  };
}

const encoder = new TextEncoder();

/** An NDJSON body the test feeds line by line. */
export function controlledStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    stream,
    send(event: RunEvent | Record<string, unknown>) {
      controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
    },
    raw(text: string) {
      controller.enqueue(encoder.encode(text));
    },
    close() {
      controller.close();
    },
    error(error: unknown) {
      controller.error(error);
    },
    get cancelled() {
      return cancelled;
    },
  };
}

export function ndjson(events: (RunEvent | Record<string, unknown>)[]): string {
  return events.map((event) => `${JSON.stringify(event)}\n`).join("");
}
