import { describe, expect, it } from "vitest";
import * as everything from "./index";
import * as responses from "./responses";
import * as sessions from "./sessionResponses";

describe("@mecha/protocol/responses and /sessions", () => {
  it("exports the same schemas and helpers as the main entry", () => {
    const main = new Map(Object.entries(everything));
    for (const [name, value] of [...Object.entries(responses), ...Object.entries(sessions)]) {
      expect(main.get(name), name).toBe(value);
    }
  });

  it("leaves out what only a server reads or builds", () => {
    for (const name of [
      "RunRequest",
      "StdinRequest",
      "RunFiles",
      "RelativePath",
      "CreateSessionRequest",
      "SessionRunRequest",
      "ExecuteRequest",
      "RunEvent",
      "RunResult",
      "RunStatus",
      "Problem",
      "ErrorCode",
      "createProblem",
      "SessionCreated",
    ]) {
      expect(name in responses, name).toBe(false);
    }
  });

  it("reads a newer server's stream line by line", () => {
    expect(responses.parseRunEvent({ type: "progress", seq: 3, percent: 50 })).toEqual({
      kind: "unknown",
      event: { type: "progress", seq: 3 },
    });
  });
});
