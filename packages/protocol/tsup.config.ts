import { defineConfig } from "tsup";

export default defineConfig({
  // A client's entries: answers and stream events (`responses`), and what a session adds
  // (`sessions`); see their module comments.
  entry: {
    index: "src/index.ts",
    responses: "src/responses.ts",
    sessions: "src/sessionResponses.ts",
  },
  format: ["esm", "cjs"],
  dts: { compilerOptions: { ignoreDeprecations: "6.0", customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: "es2022",
});
