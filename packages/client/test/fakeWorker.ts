import type { RunRequest } from "@mecha/protocol";
import { expect, vi } from "vitest";
import type { ClientRunEvent } from "../src/backend";
import type { BrowserBackendOptions, WorkerLike } from "../src/browser/browserBackendOptions";
import { createBrowserBackend } from "../src/browser/createBrowserBackend";
import type { PageMessage, RunJob, RunOutcome, WorkerMessage } from "../src/browser/workerProtocol";
import { createFakeClock } from "./fakeClock";

/** A scripted worker for the page half of the browser backend: the test plays Python's part. */
export class FakeWorker implements WorkerLike {
  onmessage: ((event: { data: WorkerMessage }) => void) | null = null;
  onerror: ((event: { message?: string }) => void) | null = null;
  received: PageMessage[] = [];
  terminated = false;

  postMessage(message: PageMessage): void {
    this.received.push(message);
  }
  terminate(): void {
    this.terminated = true;
  }
  send(message: WorkerMessage): void {
    this.onmessage?.({ data: message });
  }
  get init() {
    return this.received.find((message) => message.type === "init") as Extract<
      PageMessage,
      { type: "init" }
    >;
  }
  get jobs(): RunJob[] {
    return this.received.flatMap((message) => (message.type === "run" ? [message.job] : []));
  }
  ready(): void {
    this.send({ type: "ready", pyodide: "314.0.7", python: "3.14.2", loadMs: 1234 });
  }
  finish(job: RunJob, outcome: Partial<RunOutcome> = {}): void {
    this.send({
      type: "done",
      id: job.id,
      outcome: { exitCode: 0, stopped: false, truncated: false, durationMs: 5, ...outcome },
    });
  }
}

export const request: RunRequest = { language: "python", code: "print(1)" };
/** Waits until `worker` has been given its `count`th job, and returns it. */
export async function jobPosted(worker: FakeWorker, count = 1): Promise<RunJob> {
  await vi.waitFor(() => expect(worker.jobs).toHaveLength(count));
  return worker.jobs[count - 1]!;
}

export function setup(options: Partial<BrowserBackendOptions> = {}) {
  const clock = createFakeClock();
  const workers: FakeWorker[] = [];
  const backend = createBrowserBackend({
    indexURL: "https://app.example/pyodide",
    isolated: false,
    timers: clock.timers,
    createWorker: () => {
      const worker = new FakeWorker();
      workers.push(worker);
      return worker;
    },
    ...options,
  });
  const start = (
    given: RunRequest = request,
    { interactive = false, signal = new AbortController().signal } = {},
  ) => {
    const events: ClientRunEvent[] = [];
    const run = backend.start(given, {
      signal,
      interactive,
      onEvent: (event) => events.push(event),
    });
    return { run, events };
  };
  return { backend, clock, workers, start };
}
