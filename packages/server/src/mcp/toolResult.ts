import type { RunResult } from "@mecha/protocol";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

type Content = CallToolResult["content"][number];

/** Display types an MCP client takes as images (base64 in a display, as in the result). */
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/**
 * The most characters of one text part (stdout, stderr, a traceback, a display's text) the
 * model is sent: a run may print up to its output limit (1 MiB by default), which would fill a
 * model's context. Past it the middle is cut, saying how much.
 */
export const MAX_TEXT_CHARS = 20_000;

const text = (value: string): Content => ({ type: "text", text: value });

/** `value` with its middle cut out past MAX_TEXT_CHARS, saying how much went. */
function cut(value: string): string {
  if (value.length <= MAX_TEXT_CHARS) return value;
  const keep = MAX_TEXT_CHARS / 2;
  return `${value.slice(0, keep)}\n[… ${value.length - 2 * keep} characters cut …]\n${value.slice(-keep)}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function bytes(count: number): string {
  if (count % (1 << 20) === 0) return `${count / (1 << 20)} MiB`;
  if (count % 1024 === 0) return `${count / 1024} KiB`;
  return `${count} bytes`;
}

/** What became of the session, for a run that did not succeed in one. */
function sessionAfter(result: RunResult): string {
  if (!result.session) return "";
  return result.session.state === "lost"
    ? " The session ended with it: its variables, imports and files are gone, and the next call starts a new session."
    : " The session's state (variables, imports, files) is kept.";
}

/** Why a run did not succeed, in a sentence or two; null when it did. */
function outcome(result: RunResult): string | null {
  const { status, error, limits } = result;
  switch (status) {
    case "succeeded":
      return null;
    case "failed":
      if (error) {
        const where = error.line === null ? "" : ` (line ${error.line})`;
        return `The code raised ${error.type}: ${error.message}${where}.${sessionAfter(result)}`;
      }
      return `The program exited with code ${result.exitCode ?? result.signal}.${sessionAfter(result)}`;
    case "timed_out":
      return `The run was stopped at its time limit${limits ? ` of ${seconds(limits.timeoutMs)}` : ""}.${sessionAfter(result)}`;
    case "memory_exceeded":
      return `The run went over its memory limit${limits ? ` of ${limits.memoryMb} MB` : ""}.${sessionAfter(result)}`;
    case "output_exceeded":
      return `The run was stopped: its output passed the limit${limits ? ` of ${bytes(limits.outputBytes)}` : ""}, and what is above is cut there.${sessionAfter(result)}`;
    case "cancelled":
      return `The run was cancelled.${sessionAfter(result)}`;
    default:
      return `The run ended as ${status}${error ? `: ${error.message}` : ""}.${sessionAfter(result)}`;
  }
}

/**
 * A run's result as the `run_python` tool answers it: stdout and stderr as text (labelled when
 * both are there), each display as an image (plots) or its `text/plain` (a final expression's
 * value, a table), each text cut to MAX_TEXT_CHARS, then, for a run that did not succeed, what
 * happened — with `isError`.
 */
export function toToolResult(result: RunResult, note?: string): CallToolResult {
  const content: Content[] = note ? [text(note)] : [];
  const { stdout, stderr, error } = result;
  if (stdout) content.push(text(stderr ? `stdout:\n${cut(stdout)}` : cut(stdout)));
  if (stderr) content.push(text(`stderr:\n${cut(stderr)}`));
  // The traceback is in stderr unless the run never got to print it.
  if (error?.traceback && !stderr.includes(error.traceback)) {
    content.push(text(cut(error.traceback)));
  }
  for (const { data } of result.displays ?? []) {
    const type = IMAGE_TYPES.find((candidate) => data[candidate] !== undefined);
    content.push(
      type ? { type: "image", data: data[type]!, mimeType: type } : text(cut(data["text/plain"])),
    );
  }
  const ended = outcome(result);
  if (result.truncated && result.status !== "output_exceeded") {
    content.push(text("The output was cut at the run's output limit."));
  }
  if (ended) content.push(text(ended));
  if (content.length === (note ? 1 : 0)) content.push(text("(no output)"));
  return { content, ...(ended ? { isError: true } : {}) };
}

/** A tool call that could not run the code, with why (and what to do) as its text. */
export function toolError(message: string): CallToolResult {
  return { content: [text(message)], isError: true };
}
