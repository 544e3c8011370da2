import { describe, expect, it, vi } from "vitest";
import type { BackendSession, ClientRunEvent } from "../src/backend";
import type { PageMessage } from "../src/browser/workerProtocol";
import { isMechaError } from "../src/errors/isMechaError";
import { type FakeWorker, jobPosted, setup } from "./fakeWorker";

/** Sessions of the browser backend, page half: the worker is scripted (its Python is tested apart). */

type Asked = Extract<PageMessage, { type: "open-session" | "read-file" }>;

/** The `count`th request (`open-session`, `read-file`) the worker was sent. */
async function asked(worker: FakeWorker, count = 1): Promise<Asked> {
  const requests = () =>
    worker.received.filter(
      (message): message is Asked =>
        message.type === "open-session" || message.type === "read-file",
    );
  await vi.waitFor(() => expect(requests()).toHaveLength(count));
  return requests()[count - 1]!;
}

async function openSession(files = [{ path: "data.csv", content: "a,b\n1,2\n" }]) {
  const context = setup();
  const opening = context.backend.createSession!(
    { language: "python", files },
    new AbortController().signal,
  );
  await vi.waitFor(() => expect(context.workers).toHaveLength(1));
  const worker = context.workers[0]!;
  worker.ready();
  const open = await asked(worker);
  worker.send({ type: "reply", request: open.request });
  const session = await opening;
  return { ...context, worker, session, open };
}

function startIn(session: BackendSession, code: string) {
  const events: ClientRunEvent[] = [];
  const run = session.start(
    { code },
    {
      signal: new AbortController().signal,
      interactive: false,
      onEvent: (event) => events.push(event),
    },
  );
  return { run, events };
}

describe("a session of the browser backend", () => {
  it("opens in the loaded worker with its files, and runs there as a session", async () => {
    const { session, worker, open } = await openSession();
    expect(session).toMatchObject({
      id: expect.stringMatching(/^browser_session_/),
      expiresAt: null,
    });
    expect(open).toMatchObject({
      type: "open-session",
      session: session.id,
      files: [{ path: "data.csv", content: "a,b\n1,2\n" }],
    });
    const { run, events } = startIn(session, "x + 1");
    const job = await jobPosted(worker);
    expect(job).toMatchObject({ code: "x + 1", session: session.id });
    worker.send({ type: "running", id: job.id });
    worker.send({ type: "output", id: job.id, stream: "stdout", data: "before\n" });
    worker.send({ type: "display", id: job.id, data: { "text/plain": "42" } });
    worker.finish(job);
    const result = await run.result;
    expect(events.map((event) => event.type)).toEqual(["started", "stdout", "display", "exit"]);
    expect(result).toMatchObject({
      status: "succeeded",
      displays: [{ data: { "text/plain": "42" } }],
      session: { id: session.id, state: "kept" },
    });
  });

  it("runs one program at a time: a second is refused with session_busy", async () => {
    const { session, worker } = await openSession();
    const first = startIn(session, "import time; time.sleep(1)");
    const second = startIn(session, "x");
    const error = await second.run.result.catch((e) => e);
    expect(isMechaError(error, "session_busy")).toBe(true);
    expect(error).toMatchObject({ status: 409 });
    const job = await jobPosted(worker);
    worker.finish(job);
    await first.run.result;
    // Free again once the run ended.
    const third = startIn(session, "x");
    worker.finish(await jobPosted(worker, 2));
    await expect(third.run.result).resolves.toMatchObject({ status: "succeeded" });
  });

  it("is lost with its worker: the run that ended it says so, the next is refused", async () => {
    const { session, worker, clock } = await openSession();
    const { run } = startIn(session, "while True: pass");
    const job = await jobPosted(worker);
    worker.send({ type: "running", id: job.id });
    // Without shared memory, a run past its limit ends with its worker.
    clock.advance(10_000);
    await expect(run.result).resolves.toMatchObject({
      status: "timed_out",
      session: { id: session.id, state: "lost" },
    });
    expect(worker.terminated).toBe(true);
    const next = await startIn(session, "x").run.result.catch((e) => e);
    expect(isMechaError(next, "session_lost")).toBe(true);
    expect(next).toMatchObject({ status: 410 });
    await expect(session.readFile("data.csv")).rejects.toMatchObject({
      problem: { code: "session_lost" },
    });
  });

  it("reads a file's bytes from the worker, or says it is not there", async () => {
    const { session, worker } = await openSession();
    const reading = session.readFile("out/plot.png");
    const first = await asked(worker, 2);
    expect(first).toMatchObject({ type: "read-file", session: session.id, path: "out/plot.png" });
    worker.send({ type: "reply", request: first.request, bytes: new Uint8Array([1, 2, 3]) });
    await expect(reading).resolves.toEqual(new Uint8Array([1, 2, 3]));

    const missing = session.readFile("nope.txt");
    worker.send({ type: "reply", request: (await asked(worker, 3)).request, bytes: null });
    const error = await missing.catch((e) => e);
    expect(isMechaError(error, "not_found")).toBe(true);
  });

  it("refuses files outside its folder when it opens", async () => {
    const context = setup();
    const opening = context.backend.createSession!(
      { language: "python", files: [{ path: "../x.py", content: "" }] },
      new AbortController().signal,
    );
    await vi.waitFor(() => expect(context.workers).toHaveLength(1));
    const worker = context.workers[0]!;
    worker.ready();
    const open = await asked(worker);
    worker.send({
      type: "reply",
      request: open.request,
      error: "file path escapes the working directory",
    });
    await expect(opening).rejects.toMatchObject({ problem: { code: "invalid_request" } });
  });

  it("closes in the worker, after which it takes no more runs", async () => {
    const { session, worker } = await openSession();
    await session.close();
    expect(worker.received.at(-1)).toEqual({ type: "close-session", session: session.id });
    const error = await startIn(session, "x").run.result.catch((e) => e);
    expect(isMechaError(error, "not_found")).toBe(true);
  });
});
