/**
 * `files` paths that can never name a file in the run's working directory are invalid requests:
 * 400 `invalid_request` naming the path, before any program starts (a runtime that records its
 * jobs stands in for Python). Paths that only look alike are written as given.
 */
import type { RunFile } from "@mecha/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import type { RunJob, Runtime } from "../src/runtime/types";

const jobs: RunJob[] = [];
const runtime: Runtime = {
  info: async () => ({ language: "python", version: "3", isolation: "process" }),
  start(job) {
    jobs.push(job);
    return {
      writeStdin() {},
      stdinBuffered: 0,
      cancel() {},
      done: Promise.resolve({
        status: "succeeded",
        exitCode: 0,
        signal: null,
        stdout: "",
        stderr: "",
        truncated: false,
        durationMs: 1,
        cpuTimeMs: null,
        memoryKb: null,
      }),
    };
  },
  close: async () => {},
};

const handler = createHandler({ runtime, logger: false });
afterAll(() => handler.close());

function post(files: RunFile[]): Promise<Response> {
  return handler(
    new Request("http://localhost/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ language: "python", code: "print(1)", files }),
    }),
  );
}

interface Problem {
  code: string;
  detail?: string;
  issues?: { path?: (string | number)[]; message: string }[];
}

/** The problem's text a reader sees: its detail and every issue's message. */
function described(problem: Problem): string {
  return [problem.detail ?? "", ...(problem.issues ?? []).map((issue) => issue.message)].join("\n");
}

const file = (path: string): RunFile => ({ path, content: "print('x')" });

describe("file paths of a run", () => {
  it.each([
    ["a NUL byte", "a\0b.py"],
    ["a NUL byte in a folder", "sub\0/a.py"],
    ["only a dot", "."],
    ["a dot segment", "a/./b.py"],
    ["a trailing dot segment", "a/."],
    ["an empty segment", "a//b.py"],
    ["a trailing slash", "a/"],
    ["a parent segment", "../x.py"],
    ["a parent segment inside", "a/../../x.py"],
    ["an absolute path", "/etc/passwd"],
    ["a Windows absolute path", "C:\\x.py"],
    ["a Windows separator escaping", "..\\x.py"],
    ["no name at all", ""],
  ])("rejects %s with 400 invalid_request naming the path", async (_, path) => {
    const before = jobs.length;
    const response = await post([file("main_helper.py"), file(path)]);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await response.json()) as Problem;
    expect(problem.code).toBe("invalid_request");
    // Named as JSON spells it, so that a NUL or a backslash reads unambiguously.
    expect(described(problem)).toContain(JSON.stringify(path));
    expect(problem.issues?.some((issue) => issue.path?.[0] === "files")).toBe(true);
    expect(jobs.length).toBe(before);
  });

  it.each([
    ["a file and a folder of one name", ["sub", "sub/a.py"], "sub/a.py"],
    ["a folder and a file of one name", ["sub/deeper/a.py", "sub/deeper"], "sub/deeper/a.py"],
    ["one path twice", ["a.py", "a.py"], "a.py"],
  ])("rejects %s with 400 invalid_request naming the paths", async (_, paths, named) => {
    const before = jobs.length;
    const response = await post(paths.map(file));
    expect(response.status).toBe(400);
    const problem = (await response.json()) as Problem;
    expect(problem.code).toBe("invalid_request");
    expect(described(problem)).toContain(JSON.stringify(named));
    expect(jobs.length).toBe(before);
  });

  it("accepts names that only look like those", async () => {
    const paths = ["..foo.py", "a..b/c.py", ".hidden", "sub/.env", "sub.py", "sub/a.py", "x./y.py"];
    const response = await post(paths.map(file));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(jobs.at(-1)?.files.map(({ path }) => path)).toEqual(paths);
  });
});
