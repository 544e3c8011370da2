import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import {
  healthDown,
  healthy,
  NDJSON,
  problemResponse,
  useClientHarness,
} from "../../test/clientHarness";
import { BASE, controlledStream, ndjson, runResult } from "../../test/fixtures";
import type { Backend, BackendSession, ClientRunEvent } from "../backend";
import { isMechaError } from "../errors/isMechaError";
import { MOCK_NOTICE } from "../mockBackend";
import { createSession } from "./createSession";

/** Sessions over the protocol (msw as DESIGN.md describes the routes), and their fallbacks. */
const { server, count, makeClient, drive } = useClientHarness();

const EXPIRES = "2030-01-01T00:10:00.000Z";
const created = (id = "s1") =>
  http.post(`${BASE}/sessions`, () =>
    HttpResponse.json({ id, expiresAt: EXPIRES }, { status: 201 }),
  );

/** A session run's stream: `stdout`, then a final expression's value, then `exit`. */
function cell(id: string, stdout: string, value?: string) {
  const displays = value === undefined ? [] : [{ data: { "text/plain": value } }];
  return new HttpResponse(
    ndjson([
      { type: "started", seq: 0, id },
      ...(stdout ? [{ type: "stdout", seq: 1, data: stdout }] : []),
      ...displays.map((display, index) => ({ type: "display", seq: 2 + index, ...display })),
      {
        type: "exit",
        seq: 9,
        result: {
          ...runResult({ id, stdout, ...(displays.length ? { displays } : {}) }),
          session: { id: "s1", state: "kept" },
        },
      },
    ]),
    { headers: NDJSON },
  );
}

describe("a session on the server", () => {
  it("opens with POST /sessions and runs cells that build on each other", async () => {
    const opened: unknown[] = [];
    const runs: { body: unknown; key: string | null }[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, async ({ request }) => {
        opened.push(await request.json());
        return HttpResponse.json({ id: "s1", expiresAt: EXPIRES, extra: true }, { status: 201 });
      }),
      http.post(`${BASE}/sessions/s1/runs`, async ({ request }) => {
        runs.push({
          body: await request.json(),
          key: request.headers.get("idempotency-key"),
        });
        return runs.length === 1 ? cell("r1", "") : cell("r2", "", "42");
      }),
    );
    const session = await createSession(makeClient(), { idleTimeoutMs: 60_000 });
    expect(session).toMatchObject({ id: "s1", backend: "server", expiresAt: EXPIRES });
    expect(opened).toEqual([{ language: "python", idleTimeoutMs: 60_000 }]);

    await session.run("x = 41");
    const events: ClientRunEvent[] = [];
    const result = await session.run("x + 1", {
      limits: { timeoutMs: 5000 },
      onEvent: (event) => events.push(event),
    });
    expect(runs.map((run) => run.body)).toEqual([
      { code: "x = 41", stdin: "" },
      { code: "x + 1", stdin: "", limits: { timeoutMs: 5000 } },
    ]);
    expect(runs[0]?.key).toMatch(/^[0-9a-f]{32}$/);
    expect(runs[1]?.key).not.toBe(runs[0]?.key);
    expect(events.map((event) => event.type)).toEqual(["started", "display", "exit"]);
    expect(result).toMatchObject({
      backend: "server",
      displays: [{ data: { "text/plain": "42" } }],
      session: { id: "s1", state: "kept" },
    });
  });

  it("opens the same way through client.createSession()", async () => {
    const opened: unknown[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, async ({ request }) => {
        opened.push(await request.json());
        return HttpResponse.json({ id: "s1", expiresAt: EXPIRES }, { status: 201 });
      }),
      http.post(`${BASE}/sessions/s1/runs`, () => cell("r1", "", "42")),
    );
    const session = await makeClient().createSession({ limits: { memoryMb: 128 } });
    expect(opened).toEqual([{ language: "python", limits: { memoryMb: 128 } }]);
    expect(session).toMatchObject({ id: "s1", backend: "server", expiresAt: EXPIRES });
    const result = await session.run("x + 1");
    expect(result.displays).toEqual([{ data: { "text/plain": "42" } }]);
  });

  it("starts interactive runs whose stdin goes to /runs/{id}/stdin", async () => {
    const body = controlledStream();
    const stdin: unknown[] = [];
    server.use(
      healthy(),
      created(),
      http.post(
        `${BASE}/sessions/s1/runs`,
        () => new HttpResponse(body.stream, { headers: NDJSON }),
      ),
      http.post(`${BASE}/runs/r7/stdin`, async ({ request }) => {
        stdin.push(await request.json());
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const session = await createSession(makeClient());
    const handle = session.start("name = input('Name? ')");
    body.send({ type: "started", seq: 0, id: "r7" });
    body.send({ type: "input", seq: 1, prompt: "Name? " });
    await vi.waitFor(() => expect(handle.id).toBe("r7"));
    await handle.sendStdin("Ada\n");
    body.send({ type: "exit", seq: 2, result: runResult({ id: "r7" }) });
    body.close();
    await expect(handle.result).resolves.toMatchObject({ id: "r7", backend: "server" });
    expect(stdin).toEqual([{ data: "Ada\n", eof: false }]);
  });

  it("reads a file's bytes, with each segment of its path escaped", async () => {
    const paths: string[] = [];
    server.use(
      healthy(),
      created(),
      http.get(`${BASE}/sessions/s1/files/*`, ({ request }) => {
        paths.push(new URL(request.url).pathname);
        return new HttpResponse(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), {
          headers: { "content-type": "image/png" },
        });
      }),
    );
    const session = await createSession(makeClient());
    await expect(session.files.get("out/my chart.png")).resolves.toEqual(
      new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    );
    expect(paths).toEqual(["/sessions/s1/files/out/my%20chart.png"]);
  });

  it("closes with DELETE, and closing one already gone is not an error", async () => {
    let deletes = 0;
    server.use(
      healthy(),
      created(),
      http.delete(`${BASE}/sessions/s1`, () =>
        ++deletes === 1
          ? new HttpResponse(null, { status: 204 })
          : problemResponse("not_found", 404),
      ),
    );
    const session = await createSession(makeClient());
    await session.close();
    await session.close();
    expect(deletes).toBe(2);
  });

  it.each([
    ["session_busy", 409],
    ["session_lost", 410],
    ["not_found", 404],
  ] as const)(
    "rejects a run with %s as a typed error, and runs it nowhere else",
    async (code, status) => {
      server.use(
        healthy(),
        created(),
        http.post(`${BASE}/sessions/s1/runs`, () => problemResponse(code, status)),
      );
      const session = await createSession(makeClient({ fallback: "mock" }));
      const error = await session.run("x").catch((e) => e);
      expect(isMechaError(error, code)).toBe(true);
      expect(error).toMatchObject({ name: "HttpError", status });
      expect(count(`POST /sessions/s1/runs`)).toBe(1);
    },
  );

  it("retries opening a session on 503 busy, after its Retry-After", async () => {
    let attempts = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, () =>
        ++attempts === 1
          ? problemResponse("busy", 503, { "retry-after": "2" })
          : HttpResponse.json({ id: "s2", expiresAt: EXPIRES }, { status: 201 }),
      ),
    );
    await expect(drive(createSession(makeClient()))).resolves.toMatchObject({ id: "s2" });
    expect(attempts).toBe(2);
  });

  it("rejects an answer that is not a session, saying what was wrong", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, () =>
        HttpResponse.json({ id: "s3", expiresAt: "tomorrow" }, { status: 201 }),
      ),
    );
    const error = await createSession(makeClient()).catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_response" });
    expect(error.message).toMatch(/expiresAt must be an ISO 8601 date-time/);
  });
});

describe("a session when the server cannot be reached", () => {
  function browserWithSessions() {
    const runs: string[] = [];
    const opened: unknown[] = [];
    const session: BackendSession = {
      id: "browser_session_1",
      expiresAt: null,
      start(run, { onEvent }) {
        runs.push(run.code);
        const result = runResult({ id: `b${runs.length}`, stdout: "in the page\n" });
        onEvent({ type: "started", id: result.id });
        onEvent({ type: "exit", result });
        return {
          result: Promise.resolve(result),
          sendStdin: async () => {},
          cancel: async () => {},
        };
      },
      readFile: async () => new Uint8Array([1]),
      close: async () => {},
    };
    const backend: Backend = {
      start: () => {
        throw new Error("a session run goes to the session");
      },
      createSession: async (request) => {
        opened.push(request);
        return session;
      },
    };
    return { backend, runs, opened };
  }

  it("opens on the browser fallback, whose worker keeps the state", async () => {
    const browser = browserWithSessions();
    server.use(
      healthDown(),
      http.post(`${BASE}/sessions`, () => HttpResponse.error()),
    );
    const client = makeClient({
      fallback: "browser",
      browser: browser.backend,
      retry: { limit: 0 },
    });
    const session = await createSession(client, { limits: { timeoutMs: 2000 } });
    expect(session).toMatchObject({ id: "browser_session_1", backend: "browser", expiresAt: null });
    expect(browser.opened).toEqual([{ language: "python", limits: { timeoutMs: 2000 } }]);
    await expect(session.run("x = 1")).resolves.toMatchObject({ backend: "browser" });
    expect(browser.runs).toEqual(["x = 1"]);
  });

  it("on the mock, simulates each run on its own and says so", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/sessions`, () => HttpResponse.error()),
    );
    const session = await createSession(makeClient({ fallback: "mock", retry: { limit: 0 } }));
    expect(session.backend).toBe("mock");
    await expect(session.run('print("hi")')).resolves.toMatchObject({
      backend: "mock",
      stdout: `${MOCK_NOTICE}hi\n`,
    });
    await expect(session.files.get("a.txt")).rejects.toMatchObject({ code: "unavailable" });
  });

  it("without a fallback, fails with the server's error", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/sessions`, () => HttpResponse.error()),
    );
    const error = await createSession(makeClient({ retry: { limit: 0 } })).catch((e) => e);
    expect(error).toMatchObject({ code: "network" });
  });

  it("needs a client made by createClient", async () => {
    const { createFakeClient } = await import("../../test/fakeClient");
    await expect(createSession(createFakeClient())).rejects.toThrow(
      /createSession needs a client made by createClient/,
    );
  });
});
