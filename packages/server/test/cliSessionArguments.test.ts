import { describe, expect, it } from "vitest";
import { parseCommand } from "../src/cliArguments";

const options = (argv: string[]) => {
  const command = parseCommand(argv);
  if (command.kind !== "serve") throw new Error("not serve");
  return command.options;
};

describe("mecha-server session flags", () => {
  it("leaves the defaults to the handler without flags", () => {
    const defaults = options([]);
    expect(defaults.maxSessions).toBeUndefined();
    expect(defaults.sessionIdleTimeoutMs).toBeUndefined();
  });

  it("takes a session maximum (0 turns sessions off) and an idle timeout", () => {
    const set = options(["--max-sessions", "0", "--session-idle-timeout", "30000"]);
    expect(set.maxSessions).toBe(0);
    expect(set.sessionIdleTimeoutMs).toBe(30_000);
  });

  it("refuses values that are not whole numbers in range, naming the flag", () => {
    expect(() => parseCommand(["--max-sessions=-1"])).toThrow(
      /--max-sessions must be a whole number ≥ 0, got "-1"/,
    );
    expect(() => parseCommand(["--session-idle-timeout", "10m"])).toThrow(
      /--session-idle-timeout must be a whole number ≥ 1000, got "10m"/,
    );
  });
});
