import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "next",
    environment: "node",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // `next build` from scratch takes about half a minute on two cores.
    hookTimeout: 240_000,
  },
});
