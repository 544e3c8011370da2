import type { RunError } from "@mecha/protocol";

const FRAME = /^\s*File "(.*)", line (\d+)/;
// A separator between chained exceptions, or a traceback header.
const BLOCK_START =
  /^(Traceback \(most recent call last\):|During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;
const EXCEPTION_HEAD = /^([A-Za-z_][\w.]*)(?::(?: (.*))?)?$/;

/**
 * Reads a formatted Python traceback back into a {@link RunError}: the last exception's
 * qualified type and message, and `line` from the innermost frame in `mainPath` (or the line a
 * `SyntaxError` there points at). Used when the exception object itself is out of reach.
 *
 * @example
 * parseTraceback('Traceback (most recent call last):\n  File "/workspace/main.py", line 2, in <module>\nValueError: bad\n')
 * // { type: "ValueError", message: "bad", line: 2, traceback: "…" }
 */
export function parseTraceback(traceback: string, mainPath = "/workspace/main.py"): RunError {
  const lines = traceback.replace(/\s+$/, "").split(/\r?\n/);
  let blockStart = 0;
  lines.forEach((text, index) => {
    if (BLOCK_START.test(text)) blockStart = index;
  });
  let line: number | null = null;
  let lastFrame = -1;
  for (let index = blockStart; index < lines.length; index++) {
    const frame = FRAME.exec(lines[index] ?? "");
    if (!frame) continue;
    lastFrame = index;
    if (frame[1] === mainPath) line = Number(frame[2]);
  }
  // The exception starts at the first unindented line after the last frame (its source line,
  // carets and `SyntaxError` excerpt are indented).
  let start = lines.length - 1;
  for (let index = Math.max(lastFrame + 1, blockStart); index < lines.length; index++) {
    const text = lines[index] ?? "";
    if (text && !/^\s/.test(text) && !BLOCK_START.test(text)) {
      start = index;
      break;
    }
  }
  const exception = lines.slice(Math.max(start, 0)).join("\n");
  const newline = exception.indexOf("\n");
  const head = EXCEPTION_HEAD.exec(newline < 0 ? exception : exception.slice(0, newline));
  let type = "Exception";
  let message = exception;
  if (head) {
    type = head[1]!;
    const rest = newline < 0 ? "" : exception.slice(newline + 1);
    message = [head[2] ?? "", rest].filter(Boolean).join("\n");
  }
  return {
    type,
    message,
    line: line !== null && line > 0 ? line : null,
    traceback: traceback.endsWith("\n") || !traceback ? traceback : `${traceback}\n`,
  };
}
