import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { AbortedError } from "./AbortedError";
import { BusyError } from "./BusyError";
import { HttpError } from "./HttpError";
import { InvalidResponseError } from "./InvalidResponseError";
import { isMechaError } from "./isMechaError";
import { MechaError } from "./MechaError";
import { NetworkError } from "./NetworkError";
import { RateLimitedError } from "./RateLimitedError";
import { TimeoutError } from "./TimeoutError";
import { UnavailableError } from "./UnavailableError";

describe("errors", () => {
  it.each([
    [NetworkError, "NetworkError", "network"],
    [TimeoutError, "TimeoutError", "timeout"],
    [HttpError, "HttpError", "http"],
    [InvalidResponseError, "InvalidResponseError", "invalid_response"],
    [AbortedError, "AbortedError", "aborted"],
    [RateLimitedError, "RateLimitedError", "rate_limited"],
    [BusyError, "BusyError", "busy"],
    [UnavailableError, "UnavailableError", "unavailable"],
  ] as const)("%o has a literal name and code", (ErrorClass, name, code) => {
    const error = new ErrorClass("message");
    expect(error).toBeInstanceOf(MechaError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(String(error)).toBe(`${name}: message`);
    expect(isMechaError(error)).toBe(true);
    expect(isMechaError(error, code)).toBe(true);
    expect(isMechaError(error, code === "http" ? "network" : "http")).toBe(false);
  });

  it("matches the server's problem code as well as its own", () => {
    const problem = (code: string) => ({
      type: `urn:mecha:problem:${code}`,
      title: code,
      status: 409,
      detail: "",
      code,
    });
    const busy = new HttpError("409", { problem: problem("session_busy") });
    expect(isMechaError(busy, "session_busy")).toBe(true);
    expect(isMechaError(busy, "http")).toBe(true);
    expect(isMechaError(busy, "session_lost")).toBe(false);
    expect(isMechaError(new NetworkError("down"), "not_found")).toBe(false);
  });

  it("carries the problem, request, status, attempts and cause", () => {
    const cause = new TypeError("fetch failed");
    const problem = {
      type: "urn:mecha:problem:unauthorized",
      title: "Unauthorized",
      status: 401,
      detail: "Authentication required.",
      code: "unauthorized" as const,
    };
    const error = new HttpError("denied", {
      problem,
      request: { method: "POST", url: "http://x/runs" },
      status: 401,
      attempts: 1,
      cause,
    });
    expect(error).toMatchObject({
      problem,
      request: { method: "POST", url: "http://x/runs" },
      status: 401,
      attempts: 1,
      cause,
    });
    expect(error.problem?.code).toBe("unauthorized");
    expect(new MechaError("network", "x").cause).toBeUndefined();
    expect(new MechaError("network", "x").attempts).toBe(0);
  });

  it("carries the response's status and headers, and takes its status from it", () => {
    const response = { status: 429, headers: { "retry-after": "5", "content-type": "text/plain" } };
    const error = new RateLimitedError("slow down", { response, retryAfterMs: 5000 });
    expect(error.response).toEqual(response);
    expect(error.status).toBe(429);
    expect(error.response?.headers["retry-after"]).toBe("5");
    expect(new NetworkError("refused").response).toBeUndefined();
  });

  it("isMechaError recognises errors from another realm and rejects look-alikes", () => {
    const foreign = runInNewContext(
      'const e = new Error("x"); e.code = "busy"; e[Symbol.for("mecha.client.error")] = true; e',
    );
    expect(foreign instanceof MechaError).toBe(false);
    expect(isMechaError(foreign)).toBe(true);
    expect(isMechaError(foreign, "busy")).toBe(true);
    expect(isMechaError(Object.assign(new Error("x"), { code: "network" }))).toBe(false);
    expect(isMechaError(null)).toBe(false);
    expect(isMechaError("network")).toBe(false);
  });
});
