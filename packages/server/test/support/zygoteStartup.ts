import type * as CreateHandler from "../../src/createHandler";

type Options = NonNullable<Parameters<typeof CreateHandler.createHandler>[0]>;

/**
 * `../src/createHandler` with every handler it makes on the zygote start-up path: `forced`
 * over each handler's own options. A warning that names the zygote fails the test: falling back
 * to a fresh interpreter per run would let the suites pass without it. A test file's `vi.mock`
 * factory for the suites that run on a zygote.
 */
export function zygoteOnly(
  actual: typeof CreateHandler,
  forced: Partial<Options> = {},
): typeof CreateHandler {
  const warn = (message: string) => {
    if (message.includes("zygote")) throw new Error(message);
  };
  return {
    ...actual,
    createHandler: (options: Options = {}) =>
      actual.createHandler({
        startup: "zygote",
        ...options,
        ...forced,
        logger:
          options.logger === false || options.logger === undefined
            ? { info() {}, warn, error() {} }
            : options.logger,
      }),
  };
}
