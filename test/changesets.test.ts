import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;
const PUBLIC = ["protocol", "server", "client", "react"];

describe("release versioning", () => {
  it("turns the pending changesets into one version and CHANGELOGs, without prompting", async () => {
    const copy = mkdtempSync(join(tmpdir(), "mecha-version-"));
    try {
      for (const file of ["package.json", "pnpm-workspace.yaml"])
        cpSync(join(root, file), join(copy, file));
      cpSync(join(root, ".changeset"), join(copy, ".changeset"), { recursive: true });
      for (const name of PUBLIC) {
        mkdirSync(join(copy, "packages", name), { recursive: true });
        cpSync(
          join(root, "packages", name, "package.json"),
          join(copy, "packages", name, "package.json"),
        );
      }
      symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
      const before = JSON.parse(
        readFileSync(join(copy, "packages/server/package.json"), "utf8"),
      ).version;
      await run(process.execPath, [join(root, "node_modules/@changesets/cli/bin.js"), "version"], {
        cwd: copy,
        env: { ...process.env, CI: "true" },
        timeout: 60_000,
      });
      const versions = PUBLIC.map(
        (name) =>
          JSON.parse(readFileSync(join(copy, "packages", name, "package.json"), "utf8")).version,
      );
      // One fixed group: every public package moves to the same new version.
      expect(new Set(versions).size).toBe(1);
      expect(versions[0]).not.toBe(before);
      for (const name of PUBLIC) {
        expect(readFileSync(join(copy, "packages", name, "CHANGELOG.md"), "utf8")).toContain(
          versions[0],
        );
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
