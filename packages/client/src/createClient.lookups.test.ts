import type { RuntimesResponse } from "@mecha/protocol";
import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { healthy, problemResponse, useClientHarness } from "../test/clientHarness";
import { BASE, problem, runResult } from "../test/fixtures";
import { isMechaError } from "./errors/isMechaError";

/** What the server tells besides runs: its runtimes, a run after the fact, its problems. */
const { server, makeClient, count, drive } = useClientHarness();

const runtimes: RuntimesResponse = [
  {
    language: "python",
    version: "3.11.2",
    isolation: "sandbox",
    packages: [
      { name: "numpy", version: "1.24.2" },
      { name: "pandas", version: "1.5.3" },
    ],
    limits: {
      defaults: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
      maxima: { timeoutMs: 60_000, memoryMb: 1024, outputBytes: 10 << 20 },
    },
  },
];

describe("client.runtimes()", () => {
  it("lists what the server can run, with the headers of every request", async () => {
    let auth: string | null = null;
    server.use(
      healthy(),
      http.get(`${BASE}/runtimes`, ({ request }) => {
        auth = request.headers.get("authorization");
        return HttpResponse.json(runtimes.map((runtime) => ({ ...runtime, gpu: false })));
      }),
    );
    const client = makeClient({ headers: { authorization: "Bearer t" } });
    await expect(client.runtimes()).resolves.toEqual(runtimes);
    expect(auth).toBe("Bearer t");
  });

  it("rejects an answer that is not a runtimes list, saying what was wrong", async () => {
    server.use(
      healthy(),
      http.get(`${BASE}/runtimes`, () => HttpResponse.json([{ language: "python" }])),
    );
    const error = await makeClient()
      .runtimes()
      .catch((e) => e);
    expect(error).toMatchObject({ name: "InvalidResponseError", code: "invalid_response" });
    expect(error.message).toMatch(
      /^Unexpected runtimes from http:\/\/mecha\.test\/runtimes \(0\.version/,
    );
  });

  it("retries a runtimes request the server could not answer", async () => {
    let attempts = 0;
    server.use(
      healthy(),
      http.get(`${BASE}/runtimes`, () =>
        ++attempts === 1 ? new HttpResponse(null, { status: 502 }) : HttpResponse.json(runtimes),
      ),
    );
    await expect(drive(makeClient().runtimes())).resolves.toHaveLength(1);
    expect(count("GET /runtimes")).toBe(2);
  });
});

describe("client.getRun()", () => {
  it("gives an ended run's result, labelled as the server's", async () => {
    const result = { ...runResult({ id: "run_5", stdout: "hi\n" }), status: "preempted" };
    server.use(
      healthy(),
      http.get(`${BASE}/runs/run_5`, () => HttpResponse.json(result)),
    );
    await expect(makeClient().getRun("run_5")).resolves.toEqual({ ...result, backend: "server" });
  });

  it("says where a run is before it ended", async () => {
    server.use(
      healthy(),
      http.get(`${BASE}/runs/run_6`, () =>
        HttpResponse.json({ id: "run_6", status: "running" }, { status: 202 }),
      ),
    );
    const run = await makeClient().getRun("run_6");
    expect(run).toEqual({ id: "run_6", status: "running" });
    expect("exitCode" in run).toBe(false);
  });

  it("rejects with not_found for a run no longer kept, with the id escaped in the path", async () => {
    const paths: string[] = [];
    server.use(
      healthy(),
      http.get(`${BASE}/runs/:id`, ({ request }) => {
        paths.push(new URL(request.url).pathname);
        return problemResponse("not_found", 404);
      }),
    );
    const error = await makeClient()
      .getRun("a/b")
      .catch((e) => e);
    expect(isMechaError(error, "not_found")).toBe(true);
    expect(error).toMatchObject({ code: "http", status: 404 });
    expect(paths).toEqual(["/runs/a%2Fb"]);
  });
});

describe("problem codes", () => {
  it("keeps a problem code a newer server added, with its details", async () => {
    server.use(
      healthy(),
      http.get(`${BASE}/runtimes`, () =>
        HttpResponse.json(problem("quota_exceeded", 403), {
          status: 403,
          headers: { "content-type": "application/problem+json" },
        }),
      ),
    );
    const error = await makeClient()
      .runtimes()
      .catch((e) => e);
    expect(error.problem).toMatchObject({
      code: "quota_exceeded",
      detail: "detail of quota_exceeded",
    });
    expect(error.message).toContain("detail of quota_exceeded");
  });
});
