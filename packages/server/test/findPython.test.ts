import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { findPython } from "../src/runtime/findPython";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it("takes a configured interpreter whose path has spaces as one path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mecha python "));
  made.push(dir);
  const inner = join(dir, "Program Files", "Python 3");
  mkdirSync(inner, { recursive: true });
  const python = join(inner, "python3");
  symlinkSync("/usr/bin/python3", python);
  const found = await findPython(python);
  expect(found.version).toMatch(/^3\./);
});

it("names a configured interpreter that does not exist, or is not Python", async () => {
  await expect(findPython("/nonexistent/python3")).rejects.toThrow(
    '"/nonexistent/python3" does not exist',
  );
  await expect(findPython("/bin/true")).rejects.toThrow('"/bin/true" is not a working Python 3');
});

it("on Windows, names a batch file as one it cannot start, and where to find the interpreter", async () => {
  const shim = "C:\\Users\\Ada\\.pyenv\\pyenv-win\\shims\\python.bat";
  const refused = findPython(shim, "win32");
  await expect(refused).rejects.toThrow(`${JSON.stringify(shim)} is a batch file`);
  await expect(refused).rejects.toThrow("python.exe");
});
