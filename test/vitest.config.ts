import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "release",
    environment: "node",
    include: ["test/**/*.test.ts"],
    root: new URL("..", import.meta.url).pathname,
    testTimeout: 180_000,
  },
});
