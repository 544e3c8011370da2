import { describe, expect, it, vi } from "vitest";
import { describeHealthFailure, type PageInfo } from "./describeHealthFailure";
import { HttpError } from "./HttpError";
import { InvalidResponseError } from "./InvalidResponseError";
import type { MechaError } from "./MechaError";
import { NetworkError } from "./NetworkError";
import { TimeoutError } from "./TimeoutError";

const request = (url: string) => ({ method: "GET", url });
const remote = "http://127.0.0.1:5000/health";
const page: PageInfo = { origin: "http://localhost:5173", isolated: false };
const refused = () => new NetworkError("Failed to fetch", { request: request(remote) });

/** Describes `error`, with a no-cors probe that gets an (opaque) answer or fails like it did. */
function describeWith(error: MechaError, options: { page?: PageInfo | null; answers?: boolean }) {
  const probe = vi.fn(async () => options.answers ?? false);
  const where = options.page === undefined ? page : options.page;
  return { probe, described: describeHealthFailure(error, where, probe) };
}

describe("describeHealthFailure", () => {
  it("says CORS when a cross-origin request fails but the server answers a no-cors probe", async () => {
    const { probe, described } = describeWith(refused(), { answers: true });
    const error = await described;
    expect(error.kind).toBe("cors");
    expect(error.message).toContain("do not allow this page's origin, http://localhost:5173");
    expect(error.message).toContain("server.proxy");
    expect(probe).toHaveBeenCalledOnce();
  });

  it("says unreachable when the probe gets no answer either", async () => {
    const error = await describeWith(refused(), { answers: false }).described;
    expect(error).toMatchObject({ kind: "unreachable" });
    expect(error.message).toMatch(/^Nothing answered at http:\/\/127\.0\.0\.1:5000\/health/);
  });

  it("says it cannot tell on a cross-origin isolated page, where the probe needs consent too", async () => {
    const error = await describeWith(refused(), { page: { ...page, isolated: true } }).described;
    expect(error.kind).toBe("unreachable");
    expect(error.message).toContain("cannot tell which");
    expect(error.message).toContain("CORS");
  });

  it.each<[string, PageInfo | null, string]>([
    ["outside a browser", null, remote],
    ["on the page's own origin", page, "http://localhost:5173/api/mecha/health"],
    ["on a relative URL", page, "/api/mecha/health"],
  ])("does not probe %s (CORS does not apply)", async (_name, where, url) => {
    const error = new NetworkError("refused", { request: request(url) });
    const { probe, described } = describeWith(error, { page: where, answers: true });
    expect(await described).toMatchObject({ kind: "unreachable", cause: error });
    expect(probe).not.toHaveBeenCalled();
  });

  it.each<[string, MechaError, string]>([
    ["a timeout", new TimeoutError("slow", { request: request(remote) }), "timeout"],
    ["a 401", new HttpError("no", { status: 401, request: request(remote) }), "unauthorized"],
    ["a 403", new HttpError("no", { status: 403, request: request(remote) }), "unauthorized"],
    ["a 404 page", new HttpError("404", { status: 404, request: request(remote) }), "not_mecha"],
    ["another body", new InvalidResponseError("html", { request: request(remote) }), "not_mecha"],
    ["a 502", new HttpError("bad gateway", { status: 502, request: request(remote) }), "http"],
  ])("names %s", async (_name, error, kind) => {
    const { probe, described } = describeWith(error, { answers: true });
    expect(await described).toMatchObject({ kind, cause: error });
    expect(probe).not.toHaveBeenCalled();
  });
});
