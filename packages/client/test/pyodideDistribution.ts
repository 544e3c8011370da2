import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { strToU8, zipSync } from "fflate";

const require = createRequire(import.meta.url);
/** The npm `pyodide` package: the interpreter and the standard library, no packages. */
export const NPM_DISTRIBUTION = `${dirname(require.resolve("pyodide/package.json"))}/`;
const RUNTIME_FILES = [
  "pyodide.mjs.map",
  "pyodide.mjs",
  "pyodide.js",
  "pyodide.asm.mjs",
  "pyodide.asm.wasm",
  "python_stdlib.zip",
];

const sha256 = (bytes: Uint8Array, encoding: "hex" | "base64url") =>
  createHash("sha256").update(bytes).digest(encoding);

/**
 * A pure-Python wheel (`<name>-<version>-py3-none-any.whl`) holding `files` and the
 * `.dist-info` an installer expects: METADATA, WHEEL and a RECORD with every file's hash.
 */
export function buildWheel(name: string, version: string, files: Record<string, string>) {
  const info = `${name}-${version}.dist-info`;
  const entries: Record<string, Uint8Array> = {};
  for (const [path, text] of Object.entries(files)) entries[path] = strToU8(text);
  entries[`${info}/METADATA`] = strToU8(
    `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
  );
  entries[`${info}/WHEEL`] = strToU8(
    "Wheel-Version: 1.0\nGenerator: mecha-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  );
  const record = Object.entries(entries).map(
    ([path, bytes]) => `${path},sha256=${sha256(bytes, "base64url")},${bytes.length}`,
  );
  entries[`${info}/RECORD`] = strToU8(`${[...record, `${info}/RECORD,,`].join("\n")}\n`);
  return { fileName: `${name}-${version}-py3-none-any.whl`, bytes: zipSync(entries) };
}

/** A lock file entry for a pure-Python package that provides the module of its own name. */
function lockEntry(name: string, version: string, fileName: string, hash: string) {
  return {
    name,
    version,
    file_name: fileName,
    install_dir: "site",
    sha256: hash,
    package_type: "package",
    imports: [name],
    depends: [],
    unvendored_tests: false,
  };
}

export interface SelfHostedDistribution {
  /** The folder, as `indexURL` (Pyodide in Node takes a path). */
  indexURL: string;
  remove(): Promise<void>;
}

/**
 * A self-hosted Pyodide distribution in a temporary folder: a copy of the npm package's files
 * and a `pyodide-lock.json` derived from its own, listing two more packages — `mechademo`, a
 * wheel served next to it, and `ghostdemo`, whose wheel is missing.
 */
export async function createSelfHostedDistribution(): Promise<SelfHostedDistribution> {
  const folder = await mkdtemp(join(tmpdir(), "mecha-pyodide-"));
  for (const file of RUNTIME_FILES) await copyFile(NPM_DISTRIBUTION + file, join(folder, file));
  const wheel = buildWheel("mechademo", "1.0", {
    "mechademo/__init__.py": 'VALUE = "mechademo from a self-hosted wheel"\n',
  });
  await writeFile(join(folder, wheel.fileName), wheel.bytes);
  const lock = JSON.parse(await readFile(`${NPM_DISTRIBUTION}pyodide-lock.json`, "utf8"));
  lock.packages.mechademo = lockEntry(
    "mechademo",
    "1.0",
    wheel.fileName,
    sha256(wheel.bytes, "hex"),
  );
  // An absolute path: in Node, Pyodide looks for a relative one on its CDN when it is not here.
  const ghost = join(folder, "ghostdemo-1.0-py3-none-any.whl");
  lock.packages.ghostdemo = lockEntry("ghostdemo", "1.0", ghost, "0".repeat(64));
  await writeFile(join(folder, "pyodide-lock.json"), JSON.stringify(lock));
  return {
    indexURL: `${folder}/`,
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}
