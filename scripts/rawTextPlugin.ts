import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { relative, resolve } from "node:path";
import type { Plugin } from "esbuild";

/**
 * Imports ending in `?raw` are the file's text, as Vite (and so Vitest, on the source) reads them:
 * the packages ship the Python they run as real `.py` files, bundled as text (the client's
 * browser runner, the server's bootstrap and zygote, @mecha/protocol's python/run_error.py).
 */
export const rawText: Plugin = {
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
