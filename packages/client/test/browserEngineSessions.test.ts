import { describe, expect, it } from "vitest";
import { usePythonEngine } from "./pythonEngine";

/**
 * A session of the browser backend in its worker (real Pyodide, in Node): its runs share one
 * namespace, their imports and a folder, like a notebook's cells; runs outside see none of it.
 */

const { run, state } = usePythonEngine();
let sessions = 0;

function openSession(files: { path: string; content: string }[] = []) {
  const id = `browser_session_t${++sessions}`;
  state.engine.openSession(id, files);
  return {
    id,
    run: (code: string, extra = {}) => run(code, { session: id, ...extra }),
  };
}

const text = (bytes: Uint8Array | null) => (bytes ? new TextDecoder().decode(bytes) : null);

describe("a session in the worker (real Pyodide)", () => {
  it("keeps variables and imports between runs, and shows a final expression's value", async () => {
    const session = openSession();
    await session.run("import json as j\nx = 41");
    const { result } = await session.run('print("computing")\nx + 1');
    expect(result).toMatchObject({ status: "succeeded", stdout: "computing\n" });
    expect(result.displays).toEqual([{ data: { "text/plain": "42" } }]);
    const { result: dumped } = await session.run("j.dumps({'x': x})");
    expect(dumped.displays).toEqual([{ data: { "text/plain": `'{"x": 41}'` } }]);
  });

  it("posts the value after the output printed before it, and nothing for None", async () => {
    const session = openSession();
    const { messages } = await session.run('print("a")\n[1, 2]');
    const order = messages.flatMap((message) =>
      message.type === "output" || message.type === "display" ? [message.type] : [],
    );
    // print() writes "a" and "\n" apart; the value comes after both.
    expect(order).toEqual(["output", "output", "display"]);
    const { result } = await session.run("print('no value')");
    expect(result.displays).toBeUndefined();
  });

  it("survives an exception, with the line in the run's own code and its source shown", async () => {
    const session = openSession();
    await session.run("total = 10");
    const { result } = await session.run("y = 1\nz = total / 0");
    expect(result.error).toMatchObject({ type: "ZeroDivisionError", line: 2 });
    expect(result.stderr).toContain("z = total / 0");
    const { result: after } = await session.run("total");
    expect(after.displays).toEqual([{ data: { "text/plain": "10" } }]);
  });

  it("keeps its folder: files given at the start and files a run wrote", async () => {
    const session = openSession([{ path: "data.csv", content: "a,b\n1,2\n" }]);
    await session.run("open('out.txt', 'w').write(open('data.csv').read().upper())");
    const { result } = await session.run("import os\nsorted(os.listdir('.'))");
    expect(result.displays).toEqual([{ data: { "text/plain": "['data.csv', 'out.txt']" } }]);
    expect(text(state.engine.readFile(session.id, "out.txt"))).toBe("A,B\n1,2\n");
    expect(state.engine.readFile(session.id, "missing.txt")).toBeNull();
    expect(state.engine.readFile(session.id, "../../etc/passwd")).toBeNull();
  });

  it("is apart from other sessions and from runs outside any session", async () => {
    const one = openSession();
    const two = openSession();
    await one.run("secret = 1\nopen('mine.txt', 'w').write('1')");
    const { result } = await two.run("'secret' in globals()");
    expect(result.displays).toEqual([{ data: { "text/plain": "False" } }]);
    const { result: plain } = await run(
      "print('secret' in globals())\nimport os\nprint(os.path.exists('mine.txt'))",
    );
    expect(plain.stdout).toBe("False\nFalse\n");
    expect(plain.displays).toBeUndefined();
    expect(state.engine.readFile(two.id, "mine.txt")).toBeNull();
  });

  it("forgets everything once closed", async () => {
    const session = openSession([{ path: "a.txt", content: "x" }]);
    await session.run("kept = True");
    state.engine.closeSession(session.id);
    expect(state.engine.readFile(session.id, "a.txt")).toBeNull();
  });
});
