import { configDefaults, defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@mecha/source"] },
  ssr: { resolve: { conditions: ["@mecha/source"] } },
  test: {
    name: "react",
    // Components run in jsdom; `*.ssr.test.tsx` and plain `*.test.ts` files pick `node` in a docblock
    // when they need it.
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx", "test/**/*.test.ts", "test/**/*.test.tsx"],
    // Real-browser suites have their own project (vitest.browser.config.ts).
    exclude: [...configDefaults.exclude, "test/browser/**"],
    setupFiles: ["./src/test/setup.ts"],
  },
});
