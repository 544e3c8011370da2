// @vitest-environment node
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build, type Metafile, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * What an app bundles from the built @mecha/react: the editor (CodeMirror) is a chunk of its own,
 * loaded when a CodeRunner's editor mounts, so an app that imports only the terminal never has it
 * in the code it loads first; DOMPurify likewise, loaded when a program's HTML is first shown. Bundled with esbuild and code splitting, as an app's bundler would,
 * both tree-shaking as usual and as a bundler that ignores `sideEffects` (Next.js in development
 * does not tree-shake at all).
 */

const run = promisify(execFile);
const reactDir = new URL("..", import.meta.url).pathname;
const root = join(reactDir, "../..");
const work = mkdtempSync(join(tmpdir(), "mecha-bundle-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EDITOR =
  /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(?:@codemirror|codemirror|@lezer)\//;

beforeAll(async () => {
  const built = ["react/dist/index.js", "client/dist/run-store.js", "protocol/dist/index.js"];
  if (!built.every((file) => existsSync(join(root, "packages", file)))) {
    console.warn("bundle check: building @mecha/react and what it depends on first");
    await run("pnpm", ["--filter", "@mecha/react...", "build"], { cwd: root });
  }
}, 180_000);

/** Resolves `@mecha/react` as an app's bundler does: the package's `import` entry, built. */
const builtReact: Plugin = {
  name: "built-mecha-react",
  setup(pluginBuild) {
    const manifest = JSON.parse(readFileSync(join(reactDir, "package.json"), "utf8"));
    const entry = join(reactDir, manifest.exports["."].import.default);
    pluginBuild.onResolve({ filter: /^@mecha\/react$/ }, () => ({ path: entry }));
  },
};

interface Bundle {
  /** The entry chunk and every chunk it imports statically: what the page loads first. */
  initial: string[];
  /** Chunks reached only through `import()`. */
  lazy: string[];
  metafile: Metafile;
}

async function bundle(source: string, ignoreAnnotations: boolean): Promise<Bundle> {
  const entry = join(work, `app-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(entry, source);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    outdir: join(work, "out"),
    write: false,
    metafile: true,
    ignoreAnnotations,
    logLevel: "silent",
    external: ["react", "react-dom", "react/jsx-runtime", "@tanstack/react-query"],
    plugins: [builtReact],
  });
  const outputs = result.metafile.outputs;
  const start = Object.keys(outputs).find((file) => outputs[file]!.entryPoint !== undefined)!;
  const initial = new Set<string>();
  const visit = (file: string) => {
    if (initial.has(file)) return;
    initial.add(file);
    for (const imported of outputs[file]!.imports) {
      if (imported.kind === "import-statement" && !imported.external) visit(imported.path);
    }
  };
  visit(start);
  const lazy = Object.keys(outputs).filter((file) => !initial.has(file) && file.endsWith(".js"));
  return { initial: [...initial], lazy, metafile: result.metafile };
}

const SANITIZER = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?dompurify\//;

/** The inputs of `files` that `pattern` matches. */
const inputsOf = (metafile: Metafile, files: string[], pattern: RegExp) =>
  files
    .flatMap((file) => Object.keys(metafile.outputs[file]!.inputs))
    .filter((input) => pattern.test(input));
const editorInputs = (metafile: Metafile, files: string[]) => inputsOf(metafile, files, EDITOR);

describe.each([
  ["with tree-shaking", false],
  ["ignoring sideEffects and pure annotations", true],
])("bundling the built @mecha/react (%s)", (_name, ignoreAnnotations) => {
  it("puts no CodeMirror code in the initial chunk of an app that imports only Terminal", async () => {
    const { initial, metafile } = await bundle(
      'import { Terminal } from "@mecha/react";\nexport const App = Terminal;\n',
      ignoreAnnotations,
    );
    expect(initial.length).toBeGreaterThan(0);
    // The terminal itself is there (its virtualiser), so the bundle is the real one.
    expect(
      initial.some((file) =>
        Object.keys(metafile.outputs[file]!.inputs).some((input) => input.includes("virtual-core")),
      ),
    ).toBe(true);
    expect(editorInputs(metafile, initial)).toEqual([]);
  });

  it("loads CodeMirror lazily, in a chunk of its own, for an app with a CodeRunner", async () => {
    const { initial, lazy, metafile } = await bundle(
      'import { CodeRunner } from "@mecha/react";\nexport const App = CodeRunner;\n',
      ignoreAnnotations,
    );
    expect(editorInputs(metafile, initial)).toEqual([]);
    expect(editorInputs(metafile, lazy)).toContainEqual(expect.stringMatching(/@codemirror\/view/));
  });

  it("loads DOMPurify lazily, in a chunk of its own, for an app that shows displays", async () => {
    const { initial, lazy, metafile } = await bundle(
      'import { CodeRunner, DisplayView, Terminal } from "@mecha/react";\nexport const App = [CodeRunner, DisplayView, Terminal];\n',
      ignoreAnnotations,
    );
    expect(inputsOf(metafile, initial, SANITIZER)).toEqual([]);
    expect(inputsOf(metafile, lazy, SANITIZER)).toContainEqual(
      expect.stringMatching(/purify\.es\.mjs$/),
    );
  });
});
