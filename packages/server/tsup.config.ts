import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", node: "src/node.ts", next: "src/next.ts", cli: "src/cli.ts" },
  format: ["esm", "cjs"],
  dts: {
    entry: { index: "src/index.ts", node: "src/node.ts", next: "src/next.ts" },
    compilerOptions: { ignoreDeprecations: "6.0", customConditions: [] },
  },
  sourcemap: true,
  clean: true,
  shims: true,
  target: "node20",
  platform: "node",
});
