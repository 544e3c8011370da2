import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import {
  fakeBrowser,
  healthDown,
  healthy,
  NDJSON,
  problemResponse,
  request,
  useClientHarness,
} from "../test/clientHarness";
import { BASE, ndjson, runResult } from "../test/fixtures";
import type { Backend } from "./backend";
import { MOCK_NOTICE } from "./mockBackend";
import type { ClientOptions } from "./resolveOptions";

/** Where runs go when the server cannot take them, and never twice on a real interpreter. */
const { server, count, makeClient, healthSettled, drive } = useClientHarness();

describe("fallback backends", () => {
  it('skips "browser" without a backend, warns once, and uses the next fallback', async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({ fallback: ["browser", "mock"], onWarning, retry: { limit: 0 } });
    const first = await client.run(request);
    const second = await client.run(request);
    expect(first.backend).toBe("mock");
    expect(second.backend).toBe("mock");
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]![0]).toMatchObject({
      name: "UnavailableError",
      code: "unavailable",
    });
    expect(onWarning.mock.calls[0]![0].message).toMatch(/createClient\(\{ browser \}\)/);
  });

  it('rejects with the server\'s error when "browser" is the only fallback and none was given', async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({ fallback: "browser", onWarning, retry: { limit: 0 } });
    await expect(client.run(request)).rejects.toMatchObject({ code: "network" });
    expect(onWarning).toHaveBeenCalledTimes(1);
  });

  it("loads a browser backend lazily, once, and labels its results", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const starts: boolean[] = [];
    const backend: Backend = {
      start(req, { onEvent, interactive }) {
        starts.push(interactive);
        const result = runResult({ id: "b1", stdout: `ran ${req.code.length} chars\n` });
        onEvent({ type: "started", id: "b1" });
        onEvent({ type: "exit", result });
        return {
          result: Promise.resolve(result),
          sendStdin: async () => {},
          cancel: async () => {},
        };
      },
    };
    const factory = vi.fn(async () => backend);
    const client = makeClient({ fallback: "browser", browser: factory, retry: { limit: 0 } });
    expect(factory).not.toHaveBeenCalled();
    await expect(client.run(request)).resolves.toMatchObject({ backend: "browser", id: "b1" });
    const handle = client.start(request);
    await expect(handle.result).resolves.toMatchObject({ backend: "browser" });
    expect(handle.backend).toBe("browser");
    expect(factory).toHaveBeenCalledTimes(1);
    expect(starts).toEqual([false, true]);
  });

  it("falls back when the server cannot run code (503 unavailable)", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unavailable", 503)),
    );
    const result = await makeClient({ fallback: "mock", mock: () => ({ stdout: "canned\n" }) }).run(
      request,
    );
    expect(result).toMatchObject({ backend: "mock", stdout: `${MOCK_NOTICE}canned\n` });
  });

  it("moves on from a backend whose start() throws", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const client = makeClient({
      fallback: ["browser", "mock"],
      retry: { limit: 0 },
      browser: {
        start() {
          throw new Error("worker failed to boot");
        },
      },
    });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
  });

  it("wraps a crashing custom backend in a typed error", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const onWarning = vi.fn();
    const client = makeClient({
      fallback: ["browser", "mock"],
      retry: { limit: 0 },
      onWarning,
      browser: () => {
        throw new Error("WebAssembly is disabled");
      },
    });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]![0]).toMatchObject({ code: "unavailable" });
    expect(onWarning.mock.calls[0]![0].message).toContain("WebAssembly is disabled");
  });
});

describe("a baseUrl where no Mecha server answers", () => {
  const notFoundPage = () =>
    http.all(`${BASE}/*`, () =>
      HttpResponse.html("<!doctype html><h1>404 Not Found</h1>", { status: 404 }),
    );

  it("is never online, and runs fall back to the mock", async () => {
    server.use(notFoundPage());
    const client = makeClient({ fallback: "mock" });
    const statuses: string[] = [];
    client.subscribe((state) => statuses.push(state.status));
    const health = await client.checkHealth().catch((e) => e);
    expect(health).toMatchObject({ name: "HttpError", code: "http", status: 404 });
    expect(health.problem).toBeUndefined();
    expect(client.status).toBe("unknown");
    expect(client.error).toMatchObject({ kind: "not_mecha" });
    expect(client.error?.message).toMatch(/not as a Mecha server.*baseUrl.*server\.proxy/);

    const result = await drive(client.run(request));
    expect(result).toMatchObject({ backend: "mock" });
    expect(result.stdout.startsWith(MOCK_NOTICE)).toBe(true);
    expect(count("POST /runs")).toBe(1);
    await healthSettled();
    expect(["unknown", "offline"]).toContain(client.status);
    expect(statuses).not.toContain("online");
    expect(statuses).not.toContain("degraded");
  });

  it.each<[string, () => Response]>([
    ["405 on POST (a static host)", () => new HttpResponse("Method Not Allowed", { status: 405 })],
    ["404 as plain JSON", () => HttpResponse.json({ error: "not found" }, { status: 404 })],
  ])("falls back on a %s", async (_name, answer) => {
    server.use(healthy(), http.post(`${BASE}/runs`, answer));
    await expect(makeClient({ fallback: "mock" }).run(request)).resolves.toMatchObject({
      backend: "mock",
    });
  });

  it("does not fall back on a Mecha server's own 404 problem", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("not_found", 404)),
    );
    const error = await makeClient({ fallback: "mock" })
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "http", status: 404 });
    expect(error.problem.code).toBe("not_found");
  });

  it.each<[string, () => Response, string]>([
    ["404 HTML", () => HttpResponse.html("<h1>nope</h1>", { status: 404 }), "not_mecha"],
    ["405", () => new HttpResponse(null, { status: 405 }), "not_mecha"],
    ["400 HTML", () => HttpResponse.html("bad", { status: 400 }), "http"],
    ["429 from a proxy", () => new HttpResponse("slow down", { status: 429 }), "http"],
    ["500 problem", () => problemResponse("internal", 500), "http"],
    ["503 busy problem", () => problemResponse("busy", 503), "http"],
    ["401 problem (reachable)", () => problemResponse("unauthorized", 401), "unauthorized"],
    ["403 problem (reachable)", () => problemResponse("forbidden", 403), "unauthorized"],
  ])("GET /health answering %s: still unknown, error %s", async (_name, answer, kind) => {
    server.use(http.get(`${BASE}/health`, answer));
    const client = makeClient();
    await expect(client.checkHealth()).rejects.toMatchObject({ attempts: 1 });
    // No health check has succeeded: the client cannot say the server runs code.
    expect(client.status).toBe("unknown");
    expect(client.error).toMatchObject({ kind });
  });

  it("surfaces a refused health check (401) through onWarning, once", async () => {
    server.use(http.get(`${BASE}/health`, () => problemResponse("unauthorized", 401)));
    const onWarning = vi.fn();
    const client = makeClient({ onWarning });
    client.subscribe(() => {});
    await vi.waitFor(() => expect(onWarning).toHaveBeenCalledTimes(1));
    expect(onWarning.mock.calls[0]![0]).toMatchObject({ code: "http", status: 401 });
    expect(onWarning.mock.calls[0]![0].problem.code).toBe("unauthorized");
    await client.checkHealth().catch(() => {});
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(client.status).toBe("unknown");
    expect(client.error?.message).toMatch(/refused this client's credentials \(401\)/);
  });
});

describe("run() never runs a program twice on a real interpreter", () => {
  it("falls back to the mock, not the browser, once the server delivered events", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse(ndjson([{ type: "started", id: "r" }]), { headers: NDJSON }),
      ),
    );
    const { backend, starts } = fakeBrowser();
    const result = await makeClient({ fallback: ["browser", "mock"], browser: backend }).run(
      request,
    );
    expect(result.backend).toBe("mock");
    expect(starts).toEqual([]);
  });

  it.each([502, 504])("falls back to the mock, not the browser, after a %i", async (status) => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => new HttpResponse("<html>gateway</html>", { status })),
    );
    const { backend, starts } = fakeBrowser();
    const client = makeClient({ fallback: ["browser", "mock"], browser: backend });
    await expect(client.run(request)).resolves.toMatchObject({ backend: "mock" });
    expect(starts).toEqual([]);
    const onlyBrowser = makeClient({ fallback: "browser", browser: backend });
    await expect(onlyBrowser.run(request)).rejects.toMatchObject({ code: "http", status });
    expect(starts).toEqual([]);
    expect(count("POST /runs")).toBe(2);
  });

  it("still uses the browser when the server cannot have run it", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => problemResponse("unavailable", 503)),
    );
    const { backend, starts } = fakeBrowser();
    const result = await makeClient({ fallback: ["browser", "mock"], browser: backend }).run(
      request,
    );
    expect(result.backend).toBe("browser");
    expect(starts).toHaveLength(1);
  });
});

/** A browser backend double whose run waits for stdin or a cancel, as an `input()` call does. */
function waitingBrowser() {
  const stdin: string[] = [];
  let cancels = 0;
  const backend: Backend = {
    start(_req, { onEvent }) {
      let end: (status: "succeeded" | "cancelled", stdout: string) => void = () => {};
      const result = new Promise<ReturnType<typeof runResult>>((resolve) => {
        end = (status, stdout) => {
          const ended = runResult({ id: "b1", status, stdout });
          onEvent({ type: "exit", result: ended });
          resolve(ended);
        };
      });
      onEvent({ type: "started", id: "b1" });
      onEvent({ type: "input", prompt: "Name? " });
      return {
        result,
        sendStdin: async (data) => {
          stdin.push(data);
          end("succeeded", `Hi ${data}`);
        },
        cancel: async () => {
          cancels++;
          end("cancelled", "");
        },
      };
    },
  };
  return { backend, stdin, cancels: () => cancels };
}

/** A client whose server is down, so that its runs fall back to a `waitingBrowser()`. */
function fallenBack() {
  server.use(
    healthDown(),
    http.post(`${BASE}/runs`, () => HttpResponse.error()),
  );
  const browser = waitingBrowser();
  const client = makeClient({ fallback: "browser", browser: browser.backend, retry: { limit: 0 } });
  return { browser, client };
}

describe("start() that fell back to the browser", () => {
  it("sends stdin to the browser run, also stdin sent while the server was still failing", async () => {
    const { browser, client } = fallenBack();
    const handle = client.start(request);
    // Typed ahead, before any backend has started the run.
    await handle.sendStdin("Ada\n");
    await expect(handle.result).resolves.toMatchObject({ backend: "browser", stdout: "Hi Ada\n" });
    expect(browser.stdin).toEqual(["Ada\n"]);
    expect(count("POST /runs/b1/stdin")).toBe(0);
  });

  it("cancels the browser run, not the server request that failed before it", async () => {
    const { browser, client } = fallenBack();
    const handle = client.start(request);
    for await (const event of handle.events) if (event.type === "input") break;
    await handle.cancel();
    await expect(handle.result).resolves.toMatchObject({ backend: "browser", status: "cancelled" });
    expect(browser.cancels()).toBe(1);
  });
});

describe("client.fallbacks", () => {
  const browser = fakeBrowser().backend;
  it.each<[Partial<ClientOptions>, string[]]>([
    [{}, []],
    [{ fallback: "none" }, []],
    [{ fallback: "mock" }, ["mock"]],
    [{ fallback: "browser" }, []],
    [{ fallback: "browser", browser }, ["browser"]],
    [{ fallback: ["browser", "mock"] }, ["mock"]],
    [{ fallback: ["browser", "mock"], browser }, ["browser", "mock"]],
    [{ fallback: ["mock", "browser"], browser: () => browser }, ["mock", "browser"]],
  ])("%o → %j", (options, expected) => {
    const client = makeClient(options);
    expect(client.fallbacks).toEqual(expected);
    expect(Object.isFrozen(client.fallbacks)).toBe(true);
  });
});
