import { describe, expect, it } from "vitest";
import { CreateSessionRequest, RunRequest, StdinRequest } from "./index";

type Schema = {
  safeParse(value: unknown): { error?: { issues: { path: PropertyKey[]; message: string }[] } };
};

const firstIssue = (schema: Schema, body: unknown) => schema.safeParse(body).error?.issues[0];

describe("validation messages name what is allowed", () => {
  it.each<[string, Schema, unknown, PropertyKey[], string]>([
    [
      "an unknown language",
      RunRequest,
      { language: "ruby", code: "" },
      ["language"],
      'language must be "python" (the only language this server runs)',
    ],
    [
      "a missing language",
      RunRequest,
      { code: "" },
      ["language"],
      'language is required: "python" (the only language this server runs)',
    ],
    [
      "a session's unknown language",
      CreateSessionRequest,
      { language: "javascript" },
      ["language"],
      'language must be "python" (the only language this server runs)',
    ],
    [
      "missing code",
      RunRequest,
      { language: "python" },
      ["code"],
      "code is required: the program's source, a string",
    ],
    [
      "code that is not a string",
      RunRequest,
      { language: "python", code: 42 },
      ["code"],
      "code must be the program's source, a string",
    ],
    [
      "a negative timeout",
      RunRequest,
      { language: "python", code: "", limits: { timeoutMs: -1 } },
      ["limits", "timeoutMs"],
      "timeoutMs must be a whole number of milliseconds, at least 1",
    ],
    [
      "a fractional memory limit",
      RunRequest,
      { language: "python", code: "", limits: { memoryMb: 1.5 } },
      ["limits", "memoryMb"],
      "memoryMb must be a whole number of MiB, at least 1",
    ],
    [
      "an output limit given as a string",
      RunRequest,
      { language: "python", code: "", limits: { outputBytes: "1MB" } },
      ["limits", "outputBytes"],
      "outputBytes must be a whole number of bytes, at least 1",
    ],
    [
      "limits that are not an object",
      RunRequest,
      { language: "python", code: "", limits: 5 },
      ["limits"],
      "limits must be an object {timeoutMs?, memoryMb?, outputBytes?}",
    ],
    [
      "an idle timeout of zero",
      CreateSessionRequest,
      { language: "python", idleTimeoutMs: 0 },
      ["idleTimeoutMs"],
      "idleTimeoutMs must be a whole number of milliseconds, at least 1",
    ],
    [
      "a file without a path",
      RunRequest,
      { language: "python", code: "", files: [{ content: "" }] },
      ["files", 0, "path"],
      'path is required: a relative path such as "data/input.csv"',
    ],
    [
      "files that are not a list",
      RunRequest,
      { language: "python", code: "", files: { "a.py": "" } },
      ["files"],
      "files must be a list of {path, content} objects",
    ],
    [
      "too many files",
      RunRequest,
      {
        language: "python",
        code: "",
        files: Array.from({ length: 101 }, (_, i) => ({ path: `${i}.py`, content: "" })),
      },
      ["files"],
      "files may list at most 100 files",
    ],
    [
      "an argument that is not a string",
      RunRequest,
      { language: "python", code: "", args: [1] },
      ["args", 0],
      "each argument must be a string",
    ],
    [
      "a returnFiles pattern outside the working directory",
      RunRequest,
      { language: "python", code: "", returnFiles: ["../*.png"] },
      ["returnFiles", 0],
      'returnFiles pattern "../*.png" has a ".." segment: paths stay inside the working directory',
    ],
    [
      "a body that is not an object",
      RunRequest,
      "print(1)",
      [],
      "a run request must be a JSON object {language, code, …}",
    ],
    [
      "stdin without data",
      StdinRequest,
      { eof: true },
      ["data"],
      "data is required: the text to send, a string",
    ],
    [
      "an eof that is not a boolean",
      StdinRequest,
      { data: "", eof: "yes" },
      ["eof"],
      "eof must be true or false",
    ],
  ])("%s", (_name, schema, body, path, message) => {
    expect(firstIssue(schema, body)).toMatchObject({ path, message });
  });

  it("leaves no request issue with zod's bare default message", () => {
    const bodies = [
      {
        language: 1,
        code: [],
        stdin: 2,
        files: [1, { path: 2, content: 3 }],
        args: "x",
        limits: [],
      },
      {
        language: "python",
        code: "",
        limits: { timeoutMs: null, memoryMb: {}, outputBytes: true },
      },
      null,
    ];
    const issues = bodies.flatMap((body) => RunRequest.safeParse(body).error?.issues ?? []);
    expect(issues.length).toBeGreaterThan(10);
    for (const issue of issues) expect(issue.message).not.toBe("Invalid input");
  });
});
