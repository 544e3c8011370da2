/**
 * The zygote's wire format, specified once in python/zygote_protocol.json and checked from both
 * sides: the server's formatter and parser here, the zygote's own (python/zygote.py) through
 * the distribution's Python.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  formatRequest,
  parseReply,
  type ZygoteRequest,
} from "../src/runtime/zygote/zygoteProtocol";

const PYTHON_DIR = fileURLToPath(new URL("../python", import.meta.url));

interface Fixture {
  requests: { line: string; request: ZygoteRequest }[];
  invalidRequests: string[];
  replies: { line: string; reply: Record<string, unknown> }[];
  invalidReplies: string[];
}

const fixture = JSON.parse(
  readFileSync(join(PYTHON_DIR, "zygote_protocol.json"), "utf8"),
) as Fixture;
const PYTHON = "/usr/bin/python3";

/** Runs Python with the zygote's modules importable; returns what it printed as JSON. */
function python(code: string): unknown {
  const result = spawnSync(PYTHON, ["-c", code], {
    env: { PATH: "/usr/bin:/bin", PYTHONPATH: PYTHON_DIR, PYTHONDONTWRITEBYTECODE: "1" },
    encoding: "utf8",
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe("the zygote's wire format, from the server's side", () => {
  it.each(fixture.requests)("formats $line", ({ line, request }) => {
    expect(formatRequest(request)).toBe(line);
  });

  it("refuses to format a request whose names would not travel as words", () => {
    expect(() => formatRequest({ op: "kill", id: "../x" })).toThrow(/not a run id/);
    expect(() =>
      formatRequest({
        op: "fork",
        id: "a",
        disk: 1,
        uid: null,
        cgroup: "a b",
        inotify: [1, 1],
      }),
    ).toThrow(/not a cgroup name/);
    expect(() =>
      formatRequest({ op: "fork", id: "a", disk: -1, uid: null, cgroup: null, inotify: [1, 1] }),
    ).toThrow(/not a fork request/);
  });

  it.each(fixture.replies)("parses $line", ({ line, reply }) => {
    expect(parseReply(line.trimEnd())).toEqual(reply);
  });

  it.each(fixture.invalidReplies)("rejects %s", (line) => {
    expect(parseReply(line.trimEnd())).toBeNull();
  });
});

describe.skipIf(!existsSync(PYTHON))("the zygote's wire format, from the zygote's side", () => {
  const script = (body: string) => `
import json, sys
import zygote
fixture = json.load(open(${JSON.stringify(join(PYTHON_DIR, "zygote_protocol.json"))}))
def plain(value):
    if isinstance(value, bytes): return value.decode()
    if isinstance(value, tuple): return list(value)
    return value
${body}
`;

  it("parses every request as the server formats it, and nothing else", () => {
    const parsed = python(
      script(`
out = {"valid": [], "invalid": []}
for case in fixture["requests"]:
    request = zygote.parse_request(case["line"].encode().rstrip(b"\\n"))
    out["valid"].append({k: plain(v) for k, v in request.items()})
for line in fixture["invalidRequests"]:
    out["invalid"].append(zygote.parse_request(line.encode().rstrip(b"\\n")))
print(json.dumps(out))
`),
    ) as { valid: unknown[]; invalid: unknown[] };
    expect(parsed.valid).toEqual(fixture.requests.map((entry) => entry.request));
    expect(parsed.invalid).toEqual(fixture.invalidRequests.map(() => null));
  });

  it("formats every reply as the server parses it", () => {
    const lines = python(
      script(`
out = []
for case in fixture["replies"]:
    r = case["reply"]
    run_id = r.get("id", "").encode()
    if r["type"] == "ready":
        line = zygote.format_ready(run_id, r["pid"], r["fds"], r["fifos"])
    elif r["type"] == "exit":
        line = zygote.format_exit(run_id, r["status"], float(r["cpu"]), r["maxrss"], r["alone"])
    elif r["type"] == "reaped":
        line = zygote.format_reaped(run_id, r["status"])
    elif r["type"] == "swept":
        line = zygote.format_swept(r["uid"])
    else:
        line = (json.dumps(r, separators=(",", ":")) + "\\n").encode()
    out.append(line.decode())
print(json.dumps(out))
`),
    ) as string[];
    expect(lines.map((line) => parseReply(line.trimEnd()))).toEqual(
      fixture.replies.map((entry) => entry.reply),
    );
  });

  it("refuses to start where its init clone was not written for the system", () => {
    const refusal = python(`
import json, os, mecha_inits
real = os.uname
class Fake:
    machine = "riscv64"
os.uname = lambda: Fake
try:
    mecha_inits.check_platform()
    print(json.dumps("started"))
except OSError as error:
    print(json.dumps(str(error)))
`);
    expect(refusal).toMatch(/written for x86_64 and aarch64, not riscv64/);
    expect(
      python("import json, mecha_inits\nmecha_inits.check_platform()\nprint(json.dumps('ok'))"),
    ).toBe("ok");
  });
});
