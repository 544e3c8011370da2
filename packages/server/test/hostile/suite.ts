import type { RunResult } from "@mecha/protocol";
import type { it } from "vitest";
import type { MechaHandler } from "../../src/createHandler";

/** What the hostile suite's cases share (test/hostile.cases.ts makes it inside its `describe`). */
export interface HostileSuite {
  /** `it`, leaving out without the sandbox the cases that do not hold there (see `casesWithout`). */
  it: typeof it;
  /** Runs without the sandbox (test/plainZygote.test.ts). */
  plain: boolean;
  /** In the server's environment; no run may ever print it. */
  secret: string;
  /** The suite's handler, made in its `beforeAll`. */
  handler(): MechaHandler;
  /** The server answers, reports itself healthy, and still runs an ordinary program. */
  expectHealthy(): Promise<void>;
  /** No process on the host has any of `markers` in its command line. */
  expectNoSurvivors(...markers: string[]): void;
  outputBytes(result: RunResult): number;
}
