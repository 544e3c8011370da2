import { defineConfig } from "tsup";

export default defineConfig({
  // `responses` is the client's entry: answers and stream events only (see its module comment).
  entry: ["src/index.ts", "src/responses.ts"],
  format: ["esm", "cjs"],
  dts: { compilerOptions: { ignoreDeprecations: "6.0", customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: "es2022",
});
