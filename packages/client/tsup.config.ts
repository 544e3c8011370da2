import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";

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

/**
 * Imports ending in `?raw` are the file's text, as Vite (and so Vitest, on the source) reads them:
 * the browser runner ships as real `.py` files (src/browser/runner.py, and @mecha/protocol's
 * python/run_error.py).
 */
const rawText: Plugin = {
  name: "mecha-raw-text",
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => {
      const specifier = args.path.slice(0, -"?raw".length);
      const file = specifier.startsWith(".")
        ? resolve(args.resolveDir, specifier)
        : createRequire(args.importer).resolve(specifier);
      // Named relative to the package, so no build machine's paths end up in dist.
      return { path: relative(process.cwd(), file), namespace: "raw-text", pluginData: file };
    });
    build.onLoad({ filter: /.*/, namespace: "raw-text" }, async (args) => ({
      contents: await readFile(args.pluginData as string, "utf8"),
      loader: "text",
    }));
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
  dts: { compilerOptions: { ignoreDeprecations: "6.0", customConditions: [] } },
  sourcemap: true,
  clean: true,
  target: "es2022",
  esbuildPlugins: [inlineWorker, rawText],
  // `@mecha/protocol/python/run_error.py?raw` is text to inline, not a dependency to import.
  noExternal: [/\?raw$/],
  // No shared chunks: each entry is whole, and the main entry stays exactly as it is without the
  // others. The run store imports only types from the rest; sessions reach the client's own
  // machinery through the client object (clientInternals.ts), not by importing it again.
  splitting: false,
});
