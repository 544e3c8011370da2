import { copyFile } from "node:fs/promises";
import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: { compilerOptions: { ignoreDeprecations: "6.0", customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: "es2022",
  // Every export is a hook, a component or something they use in the browser: the whole entry is
  // a client module for React Server Components (bundling drops the per-file directives).
  banner: { js: '"use client";' },
  async onSuccess() {
    await copyFile("src/styles.css", "dist/styles.css");
  },
});
