import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@mecha/source"] },
  ssr: { resolve: { conditions: ["@mecha/source"] } },
  test: {
    name: "protocol",
    environment: "node",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
  },
});
