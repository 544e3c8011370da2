import { describe, expect, it } from "vitest";
import { CreateSessionRequest, describePathProblem, RunRequest, SessionRunRequest } from "./index";

const run = (files: { path: string; content: string }[]) =>
  RunRequest.safeParse({ language: "python", code: "", files });

describe("file paths", () => {
  it.each([
    "main.py",
    "utils/helpers.py",
    "a/b/c/d.txt",
    ".hidden",
    "..dots..",
    "name with spaces.py",
    "x".repeat(255),
  ])("accepts %j", (path) => {
    expect(describePathProblem(path)).toBeNull();
    expect(run([{ path, content: "" }]).success).toBe(true);
  });

  it.each([
    ["", "is empty"],
    ["x".repeat(256), "is longer than 255 characters"],
    ["a\0b.py", "contains a NUL byte"],
    ["/etc/passwd", 'is absolute (it starts with "/")'],
    ["\\windows\\x", "is a Windows absolute path"],
    ["C:\\x.py", "is a Windows absolute path"],
    ["c:x.py", "is a Windows absolute path"],
    ["a//b.py", "has an empty segment"],
    ["sub/", "has an empty segment"],
    ["./a.py", 'has a "." segment'],
    ["a/./b.py", 'has a "." segment'],
    ["..", 'has a ".." segment'],
    ["../x.py", 'has a ".." segment'],
    ["a/../../x.py", 'has a ".." segment'],
  ])("rejects %j: it %s", (path, problem) => {
    expect(describePathProblem(path)).toContain(problem);
    const parsed = run([{ path, content: "" }]);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path).toEqual(["files", 0, "path"]);
    expect(issue?.message).toContain(problem);
    expect(issue?.message).toMatch(/^path "/);
  });

  it("shows a long path cut short in its message", () => {
    const message = run([{ path: `/${"x".repeat(1000)}`, content: "" }]).error?.issues[0]?.message;
    expect(message?.length).toBeLessThan(200);
  });

  it.each([
    [
      "a file and a folder of the same name",
      ["sub", "sub/a.py"],
      1,
      'path "sub/a.py" needs "sub" to be a folder, but another file has that path',
    ],
    [
      "the folder's file listed first",
      ["sub/deeper/a.py", "sub"],
      0,
      'path "sub/deeper/a.py" needs "sub" to be a folder',
    ],
    ["the same path twice", ["a.py", "b.py", "a.py"], 2, 'path "a.py" is listed twice'],
  ])("rejects %s, naming the clashing path", (_name, paths, index, message) => {
    const parsed = run(paths.map((path) => ({ path, content: "" })));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({
        path: ["files", index, "path"],
        message: expect.stringContaining(message),
      }),
    ]);
  });

  it("accepts folders shared by several files", () => {
    expect(
      run([
        { path: "sub/a.py", content: "" },
        { path: "sub/b.py", content: "" },
        { path: "subx", content: "" },
      ]).success,
    ).toBe(true);
  });

  it("applies the same rules to session files", () => {
    const bad = [{ path: "../x", content: "" }];
    expect(CreateSessionRequest.safeParse({ language: "python", files: bad }).success).toBe(false);
    expect(SessionRunRequest.safeParse({ code: "", files: bad }).success).toBe(false);
    const clash = [
      { path: "d", content: "" },
      { path: "d/x", content: "" },
    ];
    expect(SessionRunRequest.safeParse({ code: "", files: clash }).success).toBe(false);
  });

  it.each([
    [["*.png", "out/*.csv", "**/*.txt"], true],
    [["/etc/*"], false],
    [["../*"], false],
    [[""], false],
    [Array.from({ length: 21 }, (_, i) => `${i}.txt`), false],
    [["x".repeat(256)], false],
  ])("checks returnFiles patterns %j", (returnFiles, ok) => {
    expect(RunRequest.safeParse({ language: "python", code: "", returnFiles }).success).toBe(ok);
    expect(SessionRunRequest.safeParse({ code: "", returnFiles }).success).toBe(ok);
  });
});
