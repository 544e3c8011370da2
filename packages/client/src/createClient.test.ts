import { HttpResponse, http } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  healthy,
  NDJSON,
  problemResponse,
  request,
  runOk,
  useClientHarness,
} from "../test/clientHarness";
import { BASE, healthBody, ndjson } from "../test/fixtures";
import { createClient } from "./createClient";
import type { ClientOptions } from "./resolveOptions";

/** The client's set-up, host callbacks and headers, and what its errors carry. */
const { server, clock, makeClient, drive } = useClientHarness();

describe("nothing happens until first use", () => {
  it("makes no request and sets no timer on creation", () => {
    const fetch = vi.fn();
    const client = makeClient({ fetch });
    expect(fetch).not.toHaveBeenCalled();
    expect(clock.pending()).toEqual([]);
    expect(client.status).toBe("unknown");
    expect(client.health).toBeNull();
  });

  it("rejects a missing baseUrl and a bad fallback with a clear TypeError", () => {
    expect(() => createClient({} as ClientOptions)).toThrow(/baseUrl/);
    expect(() => createClient({ baseUrl: BASE, fallback: ["cloud" as "mock"] })).toThrow(
      /fallback/,
    );
    expect(() => createClient({ baseUrl: BASE, timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});

describe("host callbacks", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("an onEvent or listener that throws is reported, not mistaken for a server failure", async () => {
    const reportError = vi.fn();
    vi.stubGlobal("reportError", reportError);
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => runOk()),
    );
    const client = makeClient({ fallback: "mock" });
    const boom = new Error("bug in the host");
    client.subscribe(() => {
      throw boom;
    });
    const result = await client.run(request, {
      onEvent: () => {
        throw boom;
      },
    });
    expect(result.backend).toBe("server");
    expect(reportError).toHaveBeenCalledWith(boom);
    expect(reportError.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(client.status).toBe("online");
  });
});

describe("a headers function that throws", () => {
  it.each<[string, () => HeadersInit | Promise<HeadersInit>]>([
    [
      "synchronously",
      () => {
        throw new Error("token store locked");
      },
    ],
    ["asynchronously", async () => Promise.reject(new Error("token store locked"))],
  ])("(%s) rejects typed, never falls back, and sends nothing", async (_name, headers) => {
    const fetch = vi.fn(async () => Response.json(healthBody()));
    const client = makeClient({ fallback: "mock", headers, fetch });
    const error = await client.run(request).catch((e) => e);
    expect(error).toMatchObject({
      name: "HttpError",
      code: "http",
      status: undefined,
      attempts: 1,
    });
    expect(error.cause).toMatchObject({ message: "token store locked" });
    expect(error.message).toMatch(/headers option threw.*token store locked/);
    expect(error.request).toEqual({ method: "POST", url: `${BASE}/runs` });
    await expect(client.checkHealth()).rejects.toMatchObject({ code: "http", status: undefined });
    expect(fetch).not.toHaveBeenCalled();
    // The host's bug says nothing about the server.
    expect(client.status).toBe("unknown");
  });
});

describe("errors carry the response", () => {
  it("has the status and headers (retry-after) of an error response", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () =>
        problemResponse("rate_limited", 429, { "retry-after": "60" }),
      ),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error.response).toMatchObject({
      status: 429,
      headers: { "retry-after": "60", "content-type": "application/problem+json" },
    });
  });

  it.each<[string, () => Response, number]>([
    ["a health body that is not protocol v1", () => HttpResponse.json({ status: "fine" }), 200],
    ["a 404 page on /health", () => HttpResponse.html("nope", { status: 404 }), 404],
  ])("has the response of %s", async (_name, answer, status) => {
    server.use(http.get(`${BASE}/health`, answer));
    const error = await makeClient()
      .checkHealth()
      .catch((e) => e);
    expect(error.response).toMatchObject({
      status,
      headers: { "content-type": expect.any(String) },
    });
  });

  it("has the run's response when the stream breaks or is not protocol v1", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(ndjson([{ type: "stdout", data: "x" }]), {
            headers: { ...NDJSON, "x-run": "1" },
          }),
      ),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "network", status: 200 });
    expect(error.response).toMatchObject({ status: 200, headers: { "x-run": "1" } });
  });

  it("has none when nothing answered", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const error = await drive(makeClient().run(request)).catch((e) => e);
    expect(error).toMatchObject({ code: "network" });
    expect(error.response).toBeUndefined();
  });
});
