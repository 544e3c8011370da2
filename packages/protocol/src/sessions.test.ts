import { describe, expect, it } from "vitest";
import { CreateSessionRequest, SessionCreated, SessionRunRequest } from "./index";

describe("sessions", () => {
  it.each<[string, unknown]>([
    ["a minimal session", { language: "python" }],
    [
      "a full session",
      {
        language: "python",
        limits: { timeoutMs: 5000, memoryMb: 512 },
        files: [{ path: "data/in.csv", content: "a,b\n1,2\n" }],
        idleTimeoutMs: 600_000,
      },
    ],
  ])("accepts %s", (_name, body) => {
    expect(CreateSessionRequest.parse(body)).toEqual(body);
  });

  it.each<[string, unknown]>([
    ["another language", { language: "ruby" }],
    ["no language", {}],
    ["an idle timeout of zero", { language: "python", idleTimeoutMs: 0 }],
    ["a fractional idle timeout", { language: "python", idleTimeoutMs: 1.5 }],
    ["limits that are not positive", { language: "python", limits: { memoryMb: -1 } }],
  ])("rejects a session with %s", (_name, body) => {
    expect(CreateSessionRequest.safeParse(body).success).toBe(false);
  });

  it.each([
    ["2030-01-01T00:10:00.000Z", true],
    ["2030-01-01T00:10:00Z", true],
    ["2030-01-01T02:10:00+02:00", true],
    ["tomorrow", false],
    ["2030-01-01", false],
  ])("reads expiresAt %j", (expiresAt, ok) => {
    expect(SessionCreated.safeParse({ id: "s1", expiresAt }).success).toBe(ok);
  });

  it("takes a session run with every field, and without a language", () => {
    const body = {
      code: "x + 1",
      stdin: "",
      files: [{ path: "a.py", content: "" }],
      limits: { timeoutMs: 1000 },
      returnFiles: ["*.png"],
    };
    expect(SessionRunRequest.parse(body)).toEqual(body);
    expect(SessionRunRequest.parse({ code: "x", language: "python" })).toEqual({ code: "x" });
    expect(SessionRunRequest.safeParse({ stdin: "" }).success).toBe(false);
  });
});
