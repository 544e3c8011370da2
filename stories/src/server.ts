import type { HealthResponse, RunEvent, RunResult } from "@mecha/protocol";
import { HttpResponse, http } from "msw";

/** Where the stories' clients send requests; msw answers in place of a Mecha server. */
export const BASE_URL = "/mecha-story";

export const healthy: HealthResponse = {
  status: "ok",
  version: "0.1.0",
  protocol: 1,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "sandbox" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 4, maxQueued: 16 },
  uptimeMs: 86_400_000,
};

export function result(partial: Partial<RunResult> = {}): RunResult {
  return {
    id: "run",
    language: "python",
    status: "succeeded",
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 48,
    cpuTimeMs: 31,
    memoryKb: 9_216,
    ...partial,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A step of a scripted run: an event, a pause, or waiting for the user's next stdin line (the
 * steps it returns play next).
 */
export type Step = RunEvent | { wait: number } | { stdin: (line: string) => Step[] };

let runs = 0;

/** An NDJSON run stream that plays `steps`, with stdin and cancel endpoints for the run. */
function scriptedRun(steps: (id: string) => Step[]) {
  const id = `story-${++runs}`;
  let cancelled = false;
  let answer: ((line: string) => void) | null = null;
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: RunEvent) =>
        controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
      send({ type: "started", id });
      const started = Date.now();
      const queue = steps(id);
      while (queue.length > 0) {
        const step = queue.shift()!;
        if (cancelled) break;
        if ("wait" in step) {
          const until = Date.now() + step.wait;
          while (!cancelled && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
        } else if ("stdin" in step) {
          const line = await new Promise<string>((resolve) => {
            answer = resolve;
          });
          queue.unshift(...step.stdin(line.replace(/\n$/, "")));
        } else {
          send(step);
        }
      }
      if (cancelled) {
        send({
          type: "exit",
          result: result({
            id,
            status: "cancelled",
            exitCode: null,
            signal: "SIGKILL",
            durationMs: Date.now() - started,
          }),
        });
      }
      controller.close();
    },
  });
  return {
    id,
    response: new HttpResponse(body, { headers: { "content-type": "application/x-ndjson" } }),
    cancel() {
      cancelled = true;
      answer?.("");
    },
    stdin(line: string) {
      const resolve = answer;
      answer = null;
      resolve?.(line);
    },
  };
}

type Run = ReturnType<typeof scriptedRun>;
const active = new Map<string, Run>();

/** Starts a run that plays `steps`, reachable through `runControls`; answers its stream. */
export function startScriptedRun(steps: (id: string) => Step[]) {
  const run = scriptedRun(steps);
  active.set(run.id, run);
  return run.response;
}

/** Handlers for a server that is up and plays `steps` for every run. */
export function serverThatRuns(steps: (id: string) => Step[], health: HealthResponse = healthy) {
  return [
    http.get(`${BASE_URL}/health`, () => HttpResponse.json(health)),
    http.post(`${BASE_URL}/runs`, () => startScriptedRun(steps)),
    ...runControls,
  ];
}

/** `POST /runs/{id}/stdin` and `/cancel` for the runs `startScriptedRun` started. */
export const runControls = [
  http.post(`${BASE_URL}/runs/:id/stdin`, async ({ params, request }) => {
    const run = active.get(String(params.id));
    if (!run) return HttpResponse.json({ code: "not_found" }, { status: 404 });
    const { data } = (await request.json()) as { data: string };
    run.stdin(data);
    return new HttpResponse(null, { status: 204 });
  }),
  http.post(`${BASE_URL}/runs/:id/cancel`, ({ params }) => {
    active.get(String(params.id))?.cancel();
    return new HttpResponse(null, { status: 202 });
  }),
];

/** Handlers for a server nobody can reach. */
export const unreachable = [
  http.get(`${BASE_URL}/health`, () => HttpResponse.error()),
  http.post(`${BASE_URL}/runs`, () => HttpResponse.error()),
  http.post(`${BASE_URL}/sessions`, () => HttpResponse.error()),
];

/** A first `POST /runs` answered 429 with `Retry-After: 1`, then runs as `steps`. */
export function rateLimitedOnce(steps: (id: string) => Step[]) {
  let limited = false;
  return [
    http.post(`${BASE_URL}/runs`, () => {
      if (limited) return undefined;
      limited = true;
      return problem(
        429,
        "rate_limited",
        "Too many requests",
        "Slow down: at most 10 runs a minute.",
        { headers: { "retry-after": "1" }, body: { retryAfter: 1 } },
      );
    }),
    ...serverThatRuns(steps),
  ];
}

export const out = (data: string): RunEvent => ({ type: "stdout", data });
export const err = (data: string): RunEvent => ({ type: "stderr", data });
export const exit = (partial: Partial<RunResult>): RunEvent => ({
  type: "exit",
  result: result(partial),
});

/** An RFC 9457 problem response, as a Mecha server answers an error. */
export function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: { headers?: Record<string, string>; body?: Record<string, unknown> } = {},
) {
  return HttpResponse.json(
    { type: `https://mecha.dev/problems/${code}`, title, status, detail, code, ...extra.body },
    { status, headers: { "content-type": "application/problem+json", ...extra.headers } },
  );
}
