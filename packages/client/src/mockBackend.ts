import type { RunError, RunRequest, RunResult, RunStatus } from "@mecha/protocol";
import type { Backend } from "./backend";
import { abortError } from "./timers";

/** What a mock responder says a program printed. Everything else is filled in. */
export interface MockOutput {
  /** @default "" */
  stdout?: string;
  /** @default "" */
  stderr?: string;
  /** @default "succeeded" */
  status?: RunStatus;
  error?: RunError;
}

/** Produces simulated output for a request the server could not take. */
export type MockResponder = (request: RunRequest) => MockOutput | Promise<MockOutput>;

/** The first line of every mock result's stdout, so simulated output is never mistaken. */
export const MOCK_NOTICE =
  "[mock] Simulated output: the Mecha server is unreachable, so this code was not run.\n";

// A top-level print() of nothing, or of one plain (or r/u-prefixed) string literal.
const PRINT = /^print\(\s*(?:([rRuU]?)(["'])((?:(?!\2)[^\\\n]|\\.)*)\2)?\s*\)\s*(?:#.*)?$/;
// \xHH, \uHHHH, \UHHHHHHHH, octal, \N{NAME}, or one character.
const ESCAPE = /\\(x\w{2}|u\w{4}|U\w{8}|[0-7]{1,3}|N\{[^}]*\}|[\s\S])/g;
const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "\n": "",
};

/** The text a top-level line prints, if it is a literal `print("…")`; otherwise undefined. */
function literalPrint(line: string): string | undefined {
  const match = PRINT.exec(line);
  if (!match) return undefined;
  const [, prefix = "", , body = ""] = match;
  if (/r/i.test(prefix)) return `${body}\n`;
  try {
    const text = body.replace(ESCAPE, (whole, sequence: string) => {
      const code = /^[0-7]/.test(sequence)
        ? `0o${sequence}`
        : sequence.length > 1
          ? `0x${sequence.slice(1)}`
          : "";
      return code ? String.fromCodePoint(Number(code)) : (ESCAPES[sequence] ?? whole);
    });
    return `${text}\n`;
  } catch {
    // Not a code point (NaN): a digit that is not hex, or \N{NAME}, which needs Unicode's name
    // table; or one past U+10FFFF. Python would not run it as it stands, or the mock cannot say.
    return undefined;
  }
}

/**
 * The default mock responder. It echoes top-level `print("…")` calls with a single string
 * literal, in order, and stops at the first line that is anything else: it cannot know what
 * such code would do, so it says so rather than guess.
 */
export function echoLiteralPrints(request: RunRequest): MockOutput {
  let stdout = "";
  for (const [index, line] of request.code.split(/\r?\n/).entries()) {
    if (/^\s*(#|$)/.test(line)) continue;
    const printed = literalPrint(line);
    if (printed === undefined) {
      const message = `Line ${index + 1} was not run: the mock only echoes print("...") of a literal.`;
      return {
        stdout,
        stderr: `[mock] ${message}\n`,
        status: "failed",
        error: { type: "NotSimulated", message, line: null, traceback: "" },
      };
    }
    stdout += printed;
  }
  return { stdout };
}

/**
 * The built-in mock backend. Every result it gives is honest about itself: the client labels
 * it `backend: "mock"`, its stdout starts with `MOCK_NOTICE`, it measures nothing
 * (`cpuTimeMs`/`memoryKb` null, no exit code), and it ignores stdin.
 */
export function createMockBackend(responder: MockResponder = echoLiteralPrints): Backend {
  let runs = 0;
  return {
    start(request, { signal, onEvent }) {
      const id = `mock_${++runs}`;
      const result = (async (): Promise<RunResult> => {
        const output = await responder(request);
        if (signal.aborted) throw abortError(signal, "The run");
        const stdout = MOCK_NOTICE + (output.stdout ?? "");
        const stderr = output.stderr ?? "";
        const result: RunResult = {
          id,
          language: "python",
          status: output.status ?? "succeeded",
          exitCode: null,
          signal: null,
          stdout,
          stderr,
          truncated: false,
          durationMs: 0,
          cpuTimeMs: null,
          memoryKb: null,
          ...(output.error ? { error: output.error } : {}),
        };
        onEvent({ type: "started", id });
        onEvent({ type: "stdout", data: stdout });
        if (stderr) onEvent({ type: "stderr", data: stderr });
        onEvent({ type: "exit", result });
        return result;
      })();
      return { result, sendStdin: async () => {}, cancel: async () => {} };
    },
  };
}
