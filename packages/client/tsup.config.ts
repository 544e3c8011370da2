import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";
import { rawText } from "../../scripts/rawTextPlugin";

const WORKER_ENTRY = fileURLToPath(new URL("./src/browser/worker.ts", import.meta.url));
const WORKER_OUT = fileURLToPath(new URL("./dist/browser/", import.meta.url));

let built: Promise<string> | undefined;

/**
 * Builds the Pyodide worker (src/browser/worker.ts) into one script, started as a module worker
 * (Pyodide needs one). It is inlined as `WORKER_SOURCE`, so the backend starts it from a Blob and
 * apps need no bundler set-up, and written to dist/browser/worker.js for hosts that serve it
 * themselves (`workerUrl`).
 */
const inlineWorker: Plugin = {
  name: "mecha-inline-worker",
  setup(build) {
    // Once per build run: the ESM and CJS builds share the result (watch mode rebuilds it).
    build.onEnd(() => {
      built = undefined;
    });
    build.onLoad({ filter: /[\\/]src[\\/]browser[\\/]workerSource\.ts$/ }, async () => {
      built ??= (async () => {
        const result = await build.esbuild.build({
          entryPoints: [WORKER_ENTRY],
          bundle: true,
          format: "iife",
          platform: "browser",
          target: "es2022",
          minify: true,
          write: false,
          legalComments: "none",
        });
        const code = result.outputFiles[0]!.text;
        await mkdir(WORKER_OUT, { recursive: true });
        await writeFile(`${WORKER_OUT}worker.js`, code);
        return code;
      })();
      const code = await built;
      return {
        contents: `export const WORKER_SOURCE = ${JSON.stringify(code)};\n`,
        loader: "ts",
      };
    });
  },
};

export default defineConfig({
  entry: {
    index: "src/index.ts",
    browser: "src/browser/index.ts",
    "run-store": "src/runStore/index.ts",
    session: "src/session/index.ts",
    // `ai` is an optional peer dependency: only this entry imports it.
    ai: "src/ai/index.ts",
  },
  format: ["esm", "cjs"],
  dts: {
    compilerOptions: {
      ignoreDeprecations: "6.0",
      customConditions: [],
      // The main entry's `import("@mecha/client/session")`, typed from the source it loads.
      paths: { "@mecha/client/session": ["./src/session/index.ts"] },
    },
  },
  sourcemap: true,
  clean: true,
  target: "es2022",
  esbuildPlugins: [inlineWorker, rawText],
  // `@mecha/protocol/python/run_error.py?raw` is text to inline, not a dependency to import.
  noExternal: [/\?raw$/],
  // `client.createSession()` loads the session entry by the package's own name, so the main
  // entry carries none of it.
  external: ["@mecha/client/session"],
  // No shared chunks: each entry is whole, and the main entry stays exactly as it is without the
  // others. The run store imports only types from the rest; sessions reach the client's own
  // machinery through the client object (clientInternals.ts), not by importing it again.
  splitting: false,
});
