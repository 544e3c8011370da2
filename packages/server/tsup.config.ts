import { defineConfig } from "tsup";
import { rawText } from "../../scripts/rawTextPlugin";

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
  esbuildPlugins: [rawText],
  // `@mecha/protocol/python/run_error.py?raw` is text to inline, not a dependency to import.
  noExternal: [/\?raw$/],
});
