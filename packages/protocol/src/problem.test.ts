import { describe, expect, it } from "vitest";
import { createProblem, ERROR_STATUS, ErrorCode, HEADERS, LenientProblem, Problem } from "./index";

describe("problems", () => {
  it.each([
    ["invalid_request", 400],
    ["not_found", 404],
    ["run_finished", 409],
    ["session_busy", 409],
    ["session_lost", 410],
    ["events_expired", 410],
    ["payload_too_large", 413],
    ["stdin_too_large", 413],
    ["busy", 503],
  ] as const)("answers %s with HTTP %i", (code, status) => {
    expect(ERROR_STATUS[code]).toBe(status);
    const problem = createProblem(code, "detail");
    expect(problem.status).toBe(status);
    expect(problem.title).not.toBe("");
    expect(Problem.parse(problem)).toEqual(problem);
  });

  it("gives every code a status and a title", () => {
    for (const code of ErrorCode.options) {
      expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(createProblem(code, "").title).toMatch(/\w/);
    }
  });

  it("names the idempotency header", () => {
    expect(HEADERS.idempotencyKey).toBe("Idempotency-Key");
    expect(HEADERS.retryAfter).toBe("Retry-After");
  });

  it("reads a problem whose code a newer server added, as a client must", () => {
    const newer = { ...createProblem("busy", "try later"), code: "quota_exceeded", status: 429 };
    expect(Problem.safeParse(newer).success).toBe(false);
    expect(LenientProblem.parse({ ...newer, extra: 1 })).toEqual(newer);
    expect(LenientProblem.safeParse({ ...newer, code: 7 }).success).toBe(false);
  });

  it("checks the path of each issue: names and indexes only", () => {
    const issue = (path: unknown[]) =>
      LenientProblem.safeParse({
        ...createProblem("invalid_request", "bad"),
        issues: [{ path, message: "m" }],
      }).success;
    expect(issue(["files", 0, "path"])).toBe(true);
    expect(issue([true])).toBe(false);
  });
});
