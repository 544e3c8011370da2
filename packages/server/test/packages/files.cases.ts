/**
 * Files back (`returnFiles`): read from inside the sandbox once the program has ended, within
 * the working directory only, under the output limit. Run on both start-up paths.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { run } from "../hostile/helpers";
import { decodeWithPil, hasBwrap, hasPackages } from "./helpers";

const decoded = (content: string | null | undefined) =>
  content == null ? null : Buffer.from(content, "base64").toString("utf8");

export function fileCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`files back (${startup})`, { timeout: 60_000 }, () => {
    const handler = createHandler({ sandbox: "required", startup, logger: false });
    afterAll(() => handler.close());

    it("sends back the files the globs match, in order, once each, with their bytes", async () => {
      const code = [
        "import os",
        "os.makedirs('out/deep', exist_ok=True)",
        "open('b.csv', 'w').write('b,1\\n')",
        "open('a.csv', 'w').write('a,1\\n')",
        "open('out/r.csv', 'w').write('r')",
        "open('out/deep/x.json', 'w').write('{}')",
        "open('.hidden.csv', 'w').write('h')",
        "open('bin.dat', 'wb').write(bytes(range(256)))",
        "left = open('unclosed.txt', 'w')",
        "left.write('flushed at exit')",
      ].join("\n");
      const result = await run(handler, {
        code,
        returnFiles: [
          "*.csv",
          "out/*.csv",
          "**/*.json",
          "a.csv",
          "bin.dat",
          "unclosed.txt",
          "none/*",
        ],
      });
      expect(result.status, result.stderr).toBe("succeeded");
      const files = result.files ?? [];
      expect(files.map((file) => [file.path, file.size])).toEqual([
        ["a.csv", 4],
        ["b.csv", 4],
        ["out/r.csv", 1],
        ["out/deep/x.json", 2],
        ["bin.dat", 256],
        ["unclosed.txt", 15],
      ]);
      expect(
        files.filter((file) => file.path !== "bin.dat").map((file) => decoded(file.content)),
      ).toEqual(["a,1\n", "b,1\n", "r", "{}", "flushed at exit"]);
      expect(Buffer.from(result.files![4]!.content!, "base64")).toEqual(
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      );
    });

    it("never follows a link out of the working directory, nor sends what is not a regular file", async () => {
      const code = [
        "import os",
        "os.symlink('/etc/passwd', 'passwd.txt')",
        "os.symlink('/usr/lib', 'lib')",
        "os.mkfifo('pipe.txt')",
        "os.mkdir('dir.txt')",
        "open('real.txt', 'w').write('ok')",
      ].join("\n");
      const result = await run(handler, {
        code,
        returnFiles: ["*.txt", "lib/*", "lib/**/*.py"],
      });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.files).toEqual([{ path: "real.txt", size: 2, content: "b2s=" }]);
    });

    it("shares out what the output limit leaves: files past it are listed without content", async () => {
      const code = [
        "print('x' * 1000)",
        "open('small.txt', 'w').write('s' * 500)",
        "open('large.txt', 'w').write('l' * 5000)",
        "open('tiny.txt', 'w').write('t')",
      ].join("\n");
      const result = await run(handler, {
        code,
        returnFiles: ["small.txt", "large.txt", "tiny.txt"],
        limits: { outputBytes: 4000 },
      });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.files).toEqual([
        { path: "small.txt", size: 500, content: Buffer.from("s".repeat(500)).toString("base64") },
        { path: "large.txt", size: 5000, content: null, truncated: true },
        { path: "tiny.txt", size: 1, content: "dA==" },
      ]);
      const none = await run(handler, { code: "open('a.txt', 'w').write('a')" });
      expect(none.files).toBeUndefined();
    });

    it.skipIf(!hasPackages)("sends back a chart a program saved", async () => {
      const code = [
        "import matplotlib.pyplot as plt",
        "plt.plot([1, 2, 3])",
        "plt.savefig('chart.png')",
        "plt.close()",
      ].join("\n");
      const result = await run(handler, { code, returnFiles: ["*.png"] });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.files?.map((file) => file.path)).toEqual(["chart.png"]);
      expect(decodeWithPil(result.files![0]!.content!)).toBe("PNG (640, 480) RGBA");
    });
  });
}
