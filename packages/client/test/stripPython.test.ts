import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { stripPython } from "../../../scripts/stripPython";

/**
 * The package build ships the browser runner's Python without comments and docstrings. What
 * runs must be exactly what the source says: checked on the files themselves, by comparing
 * their syntax trees in real Python (Pyodide).
 */

describe("stripPython", () => {
  it.each([
    ["a comment line and a trailing comment", "# why\nx = 1  # because\n", "x = 1\n"],
    ["blank lines", "x = 1\n\n\ny = 2\n", "x = 1\ny = 2\n"],
    [
      "docstrings, as empty strings",
      'def f():\n    """Does.\n\n    # not a comment\n    """\n    return 1\n',
      'def f():\n    ""\n    return 1\n',
    ],
    ["a hash inside strings", "s = '#' + \"#\" + r'\\'#'\n", "s = '#' + \"#\" + r'\\'#'\n"],
    [
      "a string that continues a statement",
      'm = (\n    "a"\n    "b"\n)\nx = 1 + \\\n    2\n',
      'm = (\n    "a"\n    "b"\n)\nx = 1 + \\\n    2\n',
    ],
    [
      "a multi-line string that is data, blank lines and all",
      't = """one\n\n# two\n"""\n',
      't = """one\n\n# two\n"""\n',
    ],
    ["prefixed strings", "b = rb'\\d' + f\"{x!r}\" + B'#'\n", "b = rb'\\d' + f\"{x!r}\" + B'#'\n"],
  ])("removes only what does not run: %s", (_name, source, stripped) => {
    expect(stripPython(`"""Module."""\n${source}`)).toBe(`""\n${stripped}`);
  });

  it("refuses a string that never ends", () => {
    expect(() => stripPython("x = 'open\n")).toThrow(/unterminated string/);
  });

  it("leaves the browser runner and run_error.py meaning what they say", async () => {
    const require = createRequire(import.meta.url);
    const indexURL = `${dirname(require.resolve("pyodide/package.json"))}/`;
    const { loadPyodide } = await import(pathToFileURL(`${indexURL}pyodide.mjs`).href);
    const pyodide = await loadPyodide({ indexURL });
    // The syntax tree, with every statement that is a lone string made an empty one.
    const tree = pyodide.runPython(`
import ast
def tree(source):
    module = ast.parse(source)
    for node in ast.walk(module):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            node.value.value = ""
    return ast.dump(module)
tree`);
    for (const file of [
      new URL("../src/browser/runner.py", import.meta.url),
      require.resolve("@mecha/protocol/python/run_error.py"),
    ]) {
      const source = await readFile(file, "utf8");
      const stripped = stripPython(source);
      expect(stripped.length).toBeLessThan(source.length * 0.9);
      expect(tree(stripped)).toBe(tree(source));
    }
  }, 60_000);
});
