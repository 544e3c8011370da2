import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import { healthy, NDJSON, request, useClientHarness } from "../test/clientHarness";
import { BASE, healthBody, ndjson, runResult } from "../test/fixtures";

/** Every server answer is validated against the protocol; a mismatch is a typed error. */
const { server, makeClient } = useClientHarness();

describe("validation", () => {
  it("turns a health body that is not protocol v1 into invalid_response", async () => {
    server.use(http.get(`${BASE}/health`, () => HttpResponse.json({ status: "fine" })));
    const client = makeClient();
    const error = await client.checkHealth().catch((e) => e);
    expect(error).toMatchObject({
      name: "InvalidResponseError",
      code: "invalid_response",
      status: 200,
    });
    expect(error.message).toMatch(/health body/);
    expect(client.status).toBe("unknown");
    expect(client.error).toMatchObject({ kind: "not_mecha", cause: error });
  });

  it("turns an HTML page where JSON was expected into invalid_response", async () => {
    server.use(
      http.get(`${BASE}/health`, () =>
        HttpResponse.html("<!doctype html><title>Welcome to nginx</title>"),
      ),
    );
    const client = makeClient();
    await expect(client.checkHealth()).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a health body of another protocol version", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json({ ...healthBody(), protocol: 2 })),
    );
    await expect(makeClient().checkHealth()).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a run stream event of a known type that is malformed, and cancels the run", async () => {
    let cancels = 0;
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(
            ndjson([
              { type: "started", id: "run_9" },
              { type: "stdout", seq: 1, data: 5 },
            ]),
            {
              headers: NDJSON,
            },
          ),
      ),
      http.post(`${BASE}/runs/run_9/cancel`, () => {
        cancels++;
        return HttpResponse.json({ id: "run_9", status: "cancelling" }, { status: 202 });
      }),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_response" });
    await vi.waitFor(() => expect(cancels).toBe(1));
  });

  it("rejects a run stream line that is not JSON", async () => {
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () => new HttpResponse('{"type":"started","id":"r"}\nnot json\n', { headers: NDJSON }),
      ),
      http.post(`${BASE}/runs/r/cancel`, () => new HttpResponse(null, { status: 202 })),
    );
    await expect(makeClient().run(request)).rejects.toMatchObject({ code: "invalid_response" });
  });

  it("rejects a run answered with JSON instead of a stream", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => HttpResponse.json(runResult())),
    );
    const error = await makeClient()
      .run(request)
      .catch((e) => e);
    expect(error).toMatchObject({ code: "invalid_response" });
    expect(error.message).toContain("application/x-ndjson");
  });
});
