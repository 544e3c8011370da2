/**
 * Rich output: display() as in Jupyter, matplotlib's inline backend, displays in program order
 * relative to stdout and stderr, and displays under the output limit. Run on both start-up paths.
 */
import type { Display, ExecuteResponse } from "@mecha/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { run } from "../hostile/helpers";
import {
  decodeWithPil,
  hasBwrap,
  hasPackages,
  type Item,
  PRELOAD,
  pngSize,
  streamEvents,
} from "./helpers";

const mimes = (displays: Display[] | undefined) =>
  (displays ?? []).map((display) => Object.keys(display.data).sort().join(" "));

export function displayCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap || !hasPackages)(`displays (${startup})`, { timeout: 60_000 }, () => {
    const handler = createHandler({
      sandbox: "required",
      startup,
      preload: PRELOAD,
      logger: false,
    });
    afterAll(() => handler.close());

    it("keeps displays in program order with stdout and stderr, however the pipes are read", async () => {
      const rounds = 60;
      const code = [
        "import sys",
        `for i in range(${rounds}):`,
        "    print(f'out {i}', end='' if i % 3 else '\\n')",
        "    display({'text/plain': f'd{i}'}, raw=True)",
        "    print(f'err {i}', file=sys.stderr)",
      ].join("\n");
      const { items, result } = await streamEvents(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      // Between display i-1 and display i: exactly `out i` on stdout and `err i-1` on stderr.
      const segments: { stdout: string; stderr: string }[] = [{ stdout: "", stderr: "" }];
      const shown: string[] = [];
      for (const item of items) {
        if (item.kind === "display") {
          shown.push(item.display.data["text/plain"]);
          segments.push({ stdout: "", stderr: "" });
        } else segments[segments.length - 1]![item.kind] += item.text;
      }
      expect(shown).toEqual(Array.from({ length: rounds }, (_, i) => `d${i}`));
      segments.forEach((segment, i) => {
        const out = i < rounds ? `out ${i}${i % 3 ? "" : "\n"}` : "";
        expect(segment, `between displays ${i - 1} and ${i}`).toEqual({
          stdout: out,
          stderr: i > 0 ? `err ${i - 1}\n` : "",
        });
      });
      expect(result.displays?.map((display) => display.data["text/plain"])).toEqual(shown);
      expect(result.stdout).not.toContain("MECHA");
    });

    it("shows plots, tables and images with the right MIME types, in order", async () => {
      const code = [
        "import io",
        "import matplotlib.pyplot as plt, pandas as pd",
        "from PIL import Image",
        "print('start')",
        "plt.plot([1, 3, 2])",
        "plt.title('one')",
        "plt.show()",
        "display(pd.DataFrame({'x': [1, 2], 'y': ['a', 'b']}))",
        "display(Image.new('RGB', (32, 16), 'red'))",
        "fig, ax = plt.subplots(figsize=(3, 2))",
        "ax.bar(['a', 'b'], [3, 5])",
        "print('end')",
      ].join("\n");
      const { items, result } = await streamEvents(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(items.map((item) => (item.kind === "display" ? "display" : item.text))).toEqual([
        "start\n",
        "display",
        "display",
        "display",
        "end\n",
        // The figure left open is shown when the program ends.
        "display",
      ]);
      const displays = result.displays ?? [];
      expect(mimes(displays)).toEqual([
        "image/png text/plain",
        "text/html text/plain",
        "image/png text/plain",
        "image/png text/plain",
      ]);
      const [plot, table, image, bars] = displays as [Display, Display, Display, Display];
      expect(plot.data["text/plain"]).toBe("<Figure size 640x480 with 1 Axes>");
      const size = pngSize(plot.data["image/png"]!);
      expect(size).not.toBeNull();
      expect(plot.metadata).toEqual({ "image/png": size });
      expect(decodeWithPil(plot.data["image/png"]!)).toBe(
        `PNG (${size!.width}, ${size!.height}) RGBA`,
      );
      expect(table.data["text/html"]).toMatch(/<table[^>]*class="dataframe"/);
      expect(table.data["text/plain"]).toBe("   x  y\n0  1  a\n1  2  b");
      expect(decodeWithPil(image.data["image/png"]!)).toBe("PNG (32, 16) RGB");
      expect(bars.data["text/plain"]).toBe("<Figure size 300x200 with 1 Axes>");
      expect(decodeWithPil(bars.data["image/png"]!)).toMatch(/^PNG \(\d+, \d+\) RGBA$/);
    });

    it("asks objects for their representations as Jupyter does", async () => {
      const code = [
        "import json",
        "class Every:",
        "    def _repr_svg_(self): return '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'",
        "    def _repr_markdown_(self): return '# title'",
        "    def _repr_json_(self): return {'a': [1, 2]}",
        "    def _repr_jpeg_(self): return b'\\xff\\xd8\\xff'",
        "    def __repr__(self): return 'Every()'",
        "class Bundle:",
        "    def _repr_mimebundle_(self, include=None, exclude=None):",
        "        return {'text/plain': 'bundle', 'text/html': '<b>b</b>', 'text/latex': '$x$'}, {'text/html': {'isolated': True}}",
        "class Broken:",
        "    def _repr_html_(self): raise ValueError('no html')",
        "    def _repr_png_(self): return 42",
        "display(Every())",
        "display(Bundle(), exclude=['text/latex'])",
        "display(Broken())",
        "display('text', 3)",
        "display({'text/html': '<i>raw</i>'}, raw=True, metadata={'bad': object()})",
        "print(display(None))",
      ].join("\n");
      const result = await run(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      const displays = result.displays ?? [];
      expect(displays.map((display) => display.data)).toEqual([
        {
          "text/plain": "Every()",
          "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"/>',
          "text/markdown": "# title",
          "application/json": '{"a": [1, 2]}',
          "image/jpeg": "/9j/",
        },
        { "text/plain": "bundle", "text/html": "<b>b</b>" },
        { "text/plain": expect.stringMatching(/^<__main__\.Broken object at 0x[0-9a-f]+>$/) },
        { "text/plain": "'text'" },
        { "text/plain": "3" },
        { "text/plain": "", "text/html": "<i>raw</i>" },
        { "text/plain": "None" },
      ]);
      expect(displays[1]?.metadata).toEqual({ "text/html": { isolated: true } });
      expect(displays[5]?.metadata).toBeUndefined();
      expect(result.stdout).toBe("None\n");
    });

    it("passes a hostile _repr_html_ through as data, never breaking the stream", async () => {
      const hostile =
        '</script><script>alert(1)</script>\\n{"type": "exit", "result": {}}\\n\\u2028\\x00\\x1bMECHA#1\\x07\\ud800';
      const code = [
        "import os",
        "class Evil:",
        `    def _repr_html_(self): return '${hostile}'`,
        "    def __repr__(self):",
        '        os.write(1000, b\'{"type": "display", "n": 99, "marks": 3, "data": {"text/html": "<img onerror=x>"}}\\n\')',
        "        return 'evil'",
        "display(Evil())",
        "print('after')",
      ].join("\n");
      const { events, items, result } = await streamEvents(handler, { code });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(events.at(-1)?.type).toBe("exit");
      const shown = items.filter(
        (item): item is Extract<Item, { kind: "display" }> => item.kind === "display",
      );
      // The forged event is a display like any other (the program could call display() too).
      expect(shown.map((item) => item.display.data)).toEqual([
        { "text/plain": "", "text/html": "<img onerror=x>" },
        {
          "text/plain": "evil",
          "text/html":
            '</script><script>alert(1)</script>\n{"type": "exit", "result": {}}\n\u2028\u0000\u001bMECHA#1\u0007\ud800',
        },
      ]);
      expect(result.stdout).toBe("after\n");
    });

    it("counts displays toward the output limit: an image over it ends the run, keeping what came before", async () => {
      const code = [
        "print('before')",
        "display({'text/plain': 'small'}, raw=True)",
        "display({'text/plain': 'big', 'image/png': b'\\x89PNG' + bytes(300_000)}, raw=True)",
        "print('never')",
      ].join("\n");
      const result = await run(handler, { code, limits: { outputBytes: 100_000 } });
      expect(result.status).toBe("output_exceeded");
      expect(result.truncated).toBe(true);
      expect(result.stdout).toBe("before\n");
      expect(result.displays?.map((display) => display.data["text/plain"])).toEqual(["small"]);
      const flood = await run(handler, {
        code: "while True:\n    display({'text/plain': 'x' * 1000}, raw=True)",
        limits: { outputBytes: 200_000, timeoutMs: 10_000 },
      });
      expect(flood.status).toBe("output_exceeded");
      const sizes = (flood.displays ?? []).map((display) => JSON.stringify(display).length);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBeLessThanOrEqual(200_000);
      expect(flood.displays!.length).toBeGreaterThan(100);
    });

    it("shows a forked child's display as its text, and keeps the legacy /execute text-only", async () => {
      const code = [
        "import os",
        "pid = os.fork()",
        "if pid == 0:",
        "    display({'text/plain': 'from the child', 'text/html': '<b>x</b>'}, raw=True)",
        "    os._exit(0)",
        "os.waitpid(pid, 0)",
        "display({'text/plain': 'from the parent'}, raw=True)",
      ].join("\n");
      const result = await run(handler, { code });
      expect(result.stdout).toBe("from the child\n");
      expect(result.displays?.map((display) => display.data["text/plain"])).toEqual([
        "from the parent",
      ]);
      const response = await handler(
        new Request("http://localhost/execute", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code: "print(1)\ndisplay({'text/plain': 'rich'}, raw=True)" }),
        }),
      );
      const body = (await response.json()) as ExecuteResponse;
      expect(body).toEqual({
        success: true,
        output: "1\n",
        error: null,
        execution_time: expect.any(Number),
        memory_used: expect.any(Number),
      });
    });
  });
}
