import { afterEach, describe, expect, it } from "vitest";
import { parseCommand } from "../../src/cliArguments";

const serve = (argv: string[]) => {
  const command = parseCommand(argv);
  if (command.kind !== "serve") throw new Error("not serve");
  return command;
};

afterEach(() => {
  delete process.env.MECHA_REDIS_URL;
});

describe("mecha-server --redis", () => {
  it("runs everything in this process without --redis", () => {
    const command = serve([]);
    expect(command.options.queue).toBeUndefined();
    expect(command.listen).toBe(true);
    expect(() => parseCommand(["--role", "runner"])).toThrow(/--role needs --redis/);
  });

  it("takes a role (both by default), a queue timeout and a prefix", () => {
    expect(serve(["--redis", "redis://10.0.0.5:6379"]).options.queue).toEqual({
      redis: "redis://10.0.0.5:6379",
      role: "both",
    });
    const api = serve([
      "--redis",
      "redis://r:6379/2",
      "--role",
      "api",
      "--queue-timeout",
      "5000",
      "--redis-prefix",
      "prod",
    ]);
    expect(api.options.queue).toEqual({
      redis: "redis://r:6379/2",
      role: "api",
      queueTimeoutMs: 5000,
      prefix: "prod",
    });
    expect(() => serve(["--redis", "localhost:6379"])).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => serve(["--redis", "redis://r", "--role", "worker"])).toThrow(
      /api, runner or both/,
    );
  });

  it("listens as a runner only when given --port", () => {
    expect(serve(["--redis", "redis://r", "--role", "runner"]).listen).toBe(false);
    expect(serve(["--redis", "redis://r", "--role", "runner", "--port", "0"]).listen).toBe(true);
  });

  it("reads the URL from MECHA_REDIS_URL, and warns of a password on the command line", () => {
    process.env.MECHA_REDIS_URL = "redis://:secret@r:6379";
    expect(serve(["--role", "api"]).options.queue?.redis).toBe("redis://:secret@r:6379");
    expect(serve(["--role", "api"]).warnings).toEqual([]);
    delete process.env.MECHA_REDIS_URL;
    const warned = serve(["--redis", "redis://:secret@r:6379"]);
    expect(warned.warnings.join("\n")).toMatch(/MECHA_REDIS_URL/);
  });
});
