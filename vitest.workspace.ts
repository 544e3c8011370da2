// The list of Vitest projects; the root vitest.config.ts passes it as `test.projects`
// (Vitest 4 ignores a workspace file on its own).
export default [
  "packages/*/vitest.config.ts",
  "packages/react/vitest.browser.config.ts",
  "packages/react/vitest.react18.config.ts",
  "examples/*/vitest.config.ts",
  "test/vitest.config.ts",
  "stories/vitest.config.ts",
];
