import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadPythonEngine } from "../src/browser/loadPythonEngine";
import { PYTHON_RUNNER } from "../src/browser/pythonRunner";
import type { WorkerMessage } from "../src/browser/workerProtocol";
import { createSelfHostedDistribution, type SelfHostedDistribution } from "./pyodideDistribution";
import { type LoadEngine, usePythonEngine } from "./pythonEngine";

/**
 * Packages from a self-hosted Pyodide distribution, on real Pyodide in Node, loaded as the
 * worker loads them: a copy of the npm package's files whose lock file also lists `mechademo`
 * (a pure-Python wheel the test builds and serves next to it) and `ghostdemo` (listed, but its
 * wheel is missing).
 */

let distribution: Promise<SelfHostedDistribution> | undefined;
afterAll(async () => {
  await (await distribution)?.remove();
});

function fromSelfHosted(packages: string[]): LoadEngine {
  return async (post: (message: WorkerMessage) => void) => {
    distribution ??= createSelfHostedDistribution();
    const { indexURL } = await distribution;
    const init = { type: "init", indexURL, runner: PYTHON_RUNNER, packages, shared: null } as const;
    const { engine } = await loadPythonEngine(init, post, (url) => import(pathToFileURL(url).href));
    return engine;
  };
}

const PROGRAM = "import mechademo\nprint(mechademo.VALUE)\n";
const LOADED = "mechademo from a self-hosted wheel\n";

/** What is written after the traceback. */
function noteOf(result: { stderr: string; error?: { traceback: string } }): string {
  const traceback = result.error?.traceback ?? "";
  const at = result.stderr.indexOf(traceback);
  expect(at).toBeGreaterThanOrEqual(0);
  return result.stderr.slice(at + traceback.length);
}

describe("packages of a self-hosted distribution, without `packages`", () => {
  const { run } = usePythonEngine(fromSelfHosted([]));

  it("does not load them unless asked, and says how to", async () => {
    const { result } = await run(PROGRAM);
    expect(result.error).toMatchObject({ type: "ModuleNotFoundError", line: 1 });
    expect(noteOf(result)).toContain(
      '"mechademo" is not loaded. Run it on a Mecha server that has "mechademo", or self-host a full Pyodide distribution',
    );
  });

  it("loads the packages a program imports with autoLoadPackages, and they stay loaded", async () => {
    const { result } = await run(PROGRAM, { autoLoadPackages: true });
    expect(result).toMatchObject({ status: "succeeded", stdout: LOADED, stderr: "" });
    const again = await run(
      `${PROGRAM}from importlib.metadata import version\nprint(version("mechademo"))\n`,
    );
    expect(again.result).toMatchObject({ status: "succeeded", stdout: `${LOADED}1.0\n` });
  });

  it("says when a package it tried to load could not be", async () => {
    const { result } = await run("import ghostdemo\n", { autoLoadPackages: true });
    expect(result.error).toMatchObject({ type: "ModuleNotFoundError", line: 1 });
    // Pyodide's own reason comes first, then the traceback, then the note.
    expect(result.stderr.indexOf("ghostdemo")).toBeLessThan(result.stderr.indexOf("Traceback"));
    expect(noteOf(result)).toContain('"ghostdemo" could not be loaded from there.');
  });

  it("says when no package of the distribution provides a module", async () => {
    const { result } = await run("import definitely_missing_pkg\n", { autoLoadPackages: true });
    expect(result.error).toMatchObject({ type: "ModuleNotFoundError", line: 1 });
    expect(noteOf(result)).toContain('No package there provides "definitely_missing_pkg".');
  });
});

describe("packages of a self-hosted distribution, with `packages`", () => {
  const { run } = usePythonEngine(fromSelfHosted(["mechademo", "ghostdemo"]));

  it("loads them with the interpreter, before any run", async () => {
    const { result } = await run(PROGRAM);
    expect(result).toMatchObject({ status: "succeeded", stdout: LOADED, stderr: "" });
  });

  it("says when one of them could not be loaded", async () => {
    const { result } = await run("import ghostdemo\n");
    expect(noteOf(result)).toContain('"ghostdemo" could not be loaded from there.');
  });
});
