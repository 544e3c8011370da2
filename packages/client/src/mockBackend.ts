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

// print("…") or print('…') with one plain (or r/u-prefixed) string literal and nothing else.
const PRINT =
  /^print\(\s*([rRuU]?)(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)\s*(?:#.*)?$/;
const EMPTY_PRINT = /^print\(\s*\)\s*(?:#.*)?$/;

function unescapePython(body: string): string | undefined {
  let ok = true;
  const text = body.replace(
    /\\(x[\da-fA-F]{2}|u[\da-fA-F]{4}|U[\da-fA-F]{8}|[0-7]{1,3}|N\{[^}]*\}|[\s\S])/g,
    (match, sequence: string) => {
      if (/^[0-7]/.test(sequence)) return String.fromCharCode(Number.parseInt(sequence, 8));
      if (sequence.length > 1) {
        const code = Number.parseInt(sequence.slice(1), 16);
        // \N{NAME} needs the Unicode name table; a code point above U+10FFFF is invalid.
        if (sequence[0] === "N" || code > 0x10ffff) ok = false;
        return ok ? String.fromCodePoint(code) : "";
      }
      return ESCAPES[sequence] ?? match;
    },
  );
  return ok ? text : undefined;
}

/** The text a top-level line prints, if it is a literal `print("…")`; otherwise undefined. */
function literalPrint(line: string): string | undefined {
  if (EMPTY_PRINT.test(line)) return "\n";
  const match = PRINT.exec(line);
  if (!match) return undefined;
  const body = match[2] ?? match[3] ?? "";
  const text = /r/i.test(match[1] ?? "") ? body : unescapePython(body);
  return text === undefined ? undefined : `${text}\n`;
}

/**
 * The default mock responder. It echoes top-level `print("…")` calls with a single string
 * literal, in order, and stops at the first line that is anything else: it cannot know what
 * such code would do, so it says so rather than guess.
 */
export function echoLiteralPrints(request: RunRequest): MockOutput {
  let stdout = "";
  const lines = request.code.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (!line.trim() || /^\s*#/.test(line)) continue;
    const printed = literalPrint(line);
    if (printed === undefined) {
      const message = `Line ${index + 1} was not run: the mock backend only echoes literal print("...") calls.`;
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
