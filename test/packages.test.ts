import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Every public package must be publishable as built: publint --strict on the packed package,
 * and arethetypeswrong on the tarball pnpm would publish (so `workspace:` ranges are rewritten).
 */

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const packDir = mkdtempSync(join(tmpdir(), "mecha-pack-"));
afterAll(() => rmSync(packDir, { recursive: true, force: true }));

const PUBLIC = ["protocol", "server", "client", "react"].filter((name) =>
  existsSync(join(root, "packages", name, "dist")),
);
const missing = ["protocol", "server", "client", "react"].filter((name) => !PUBLIC.includes(name));
if (missing.length > 0) {
  console.warn(`release checks: not built, so not checked: ${missing.join(", ")} (run pnpm build)`);
}

describe.each(PUBLIC)("@mecha/%s is ready to publish", (name) => {
  const dir = join(root, "packages", name);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

  it("passes publint --strict", async () => {
    const { stdout } = await run("pnpm", ["exec", "publint", "--strict"], { cwd: dir });
    expect(stdout).toContain("All good!");
  });

  it("has correct types for every entry under arethetypeswrong", async () => {
    const destination = mkdtempSync(join(packDir, `${name}-`));
    await run("pnpm", ["pack", "--pack-destination", destination], { cwd: dir });
    const tarball = readdirSync(destination).find((file) => file.endsWith(".tgz"))!;
    const result = await run(
      "pnpm",
      ["exec", "attw", "--profile", "node16", "--format", "json", join(destination, tarball)],
      { cwd: root, maxBuffer: 32 << 20 },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
    const report = JSON.parse(result.stdout);
    // Node 10 resolution predates `exports` (subpaths cannot work there); stylesheets and the
    // Python a runner loads (`@mecha/protocol/python/…`) have no types.
    const problems = (
      (report.analysis?.problems ?? []) as {
        kind: string;
        entrypoint?: string;
        resolutionKind?: string;
      }[]
    ).filter(
      (problem) =>
        problem.resolutionKind !== "node10" && !/\.(css|py)$/.test(problem.entrypoint ?? ""),
    );
    const packed = readFileSync(join(destination, tarball));
    expect(packed.length).toBeGreaterThan(0);
    expect(problems.map((problem) => `${problem.kind} ${problem.entrypoint ?? ""}`)).toEqual([]);
  });

  const budget = join(dir, ".size-limit.json");
  // Packages with a size budget (.size-limit.json) are held to it.
  if (existsSync(budget)) {
    it("stays within its size budget (size-limit, min+gzip)", async () => {
      const result = await run("pnpm", ["exec", "size-limit", "--json"], { cwd: dir }).catch(
        (error: { stdout?: string }) => ({ stdout: error.stdout ?? "[]" }),
      );
      const entries = JSON.parse(result.stdout) as {
        name: string;
        size: number;
        passed: boolean;
      }[];
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect({ name: entry.name, size: entry.size, passed: entry.passed }).toMatchObject({
          passed: true,
        });
      }
    });
  }

  it("declares what a published package needs", () => {
    expect(manifest.type).toBe("module");
    // Only stylesheets may have side effects: importing JavaScript must do nothing.
    const sideEffects = manifest.sideEffects;
    expect(
      sideEffects === false ||
        (Array.isArray(sideEffects) && sideEffects.every((glob: string) => glob.endsWith(".css"))),
    ).toBe(true);
    expect(manifest.exports["./package.json"]).toBe("./package.json");
    expect(manifest.files).toContain("dist");
    expect(manifest.license).toBeTruthy();
  });
});
