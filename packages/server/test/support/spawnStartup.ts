import type * as CreateHandler from "../../src/createHandler";

/**
 * `../src/createHandler` with `startup: "spawn"` the default of every handler it makes: a test
 * file's `vi.mock` factory for the suites that run on the spawn start-up path.
 */
export function spawnByDefault(actual: typeof CreateHandler): typeof CreateHandler {
  return {
    ...actual,
    createHandler: (options: Parameters<typeof actual.createHandler>[0] = {}) =>
      actual.createHandler({ startup: "spawn", ...options }),
  };
}
