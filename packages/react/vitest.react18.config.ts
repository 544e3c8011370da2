import { realpathSync } from "node:fs";
import { defineProject } from "vitest/config";
import base from "./vitest.config.ts";

/**
 * The `react` suite once more, on React 18 (the peer range is `^18 || ^19`): `react`, `react-dom`
 * and the libraries that render with them resolve to ./react18's copies, installed against React
 * 18 (see its package.json), so that one React renders everything. The bundle check does not
 * depend on React's version and runs in `react` only.
 */
const onReact18 = [
  "react",
  "react-dom",
  "@tanstack/react-query",
  "@tanstack/react-virtual",
  "@testing-library/react",
];
const modules = new URL("./react18/node_modules/", import.meta.url).pathname;

export default defineProject({
  ...base,
  resolve: {
    ...base.resolve,
    alias: onReact18.map((name) => ({
      find: new RegExp(`^${name.replace("/", "\\/")}(\\/.*)?$`),
      replacement: `${realpathSync(modules + name)}$1`,
    })),
  },
  test: {
    ...base.test,
    name: "react18",
    exclude: [...(base.test?.exclude ?? []), "test/bundle.test.ts"],
    setupFiles: ["./react18/setup.ts", ...[base.test?.setupFiles ?? []].flat()],
  },
});
