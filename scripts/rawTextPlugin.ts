import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { relative, resolve } from "node:path";
import type { Plugin } from "esbuild";

/**
 * Imports ending in `?raw` are the file's text, as Vite (and so Vitest, on the source) reads them:
 * the packages ship the Python they run as real `.py` files, bundled as text (the client's
 * browser runner, the server's bootstrap and zygote, @mecha/protocol's python/run_error.py).
 * `transform` may rewrite that text as it is bundled (the client strips its Python: `stripPython`).
 */
export function rawTextPlugin(transform?: (text: string, file: string) => string): Plugin {
  return {
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
      build.onLoad({ filter: /.*/, namespace: "raw-text" }, async (args) => {
        const file = args.pluginData as string;
        const text = await readFile(file, "utf8");
        return { contents: transform ? transform(text, file) : text, loader: "text" };
      });
    },
  };
}

export const rawText: Plugin = rawTextPlugin();
