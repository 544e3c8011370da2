import type { PythonToolOptions, PythonToolOutput } from "./pythonTool";

/** What the AI SDK sends the model for a tool result: text, or text and images. */
export type PythonToolModelOutput =
  | { type: "text"; value: string }
  | {
      type: "content";
      value: Array<
        { type: "text"; text: string } | { type: "image-data"; data: string; mediaType: string }
      >;
    };

/** `text` with its middle cut out past `max` characters, saying how much went. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = Math.floor(max / 2);
  return `${text.slice(0, keep)}\n[… ${text.length - 2 * keep} characters cut …]\n${text.slice(-keep)}`;
}

/**
 * A call's output as the model reads it: how the run ended, its output, the error with its line
 * and traceback, the other displays' text, then the images (as images, unless turned off).
 */
export function toModelText(
  output: PythonToolOutput,
  options: Pick<PythonToolOptions, "images" | "maxOutputChars">,
): PythonToolModelOutput {
  const max = options.maxOutputChars ?? 20_000;
  const sendImages = options.images !== false && output.images.length > 0;
  const lines = [`status: ${output.status}`];
  if (output.backend === "mock") {
    lines.push(
      "note: the code was NOT run (Mecha's server is unreachable; this output is simulated)",
    );
  }
  if (output.stdout) lines.push(`stdout:\n${cut(output.stdout, max)}`);
  if (output.stderr && !output.error) lines.push(`stderr:\n${cut(output.stderr, max)}`);
  if (output.error) {
    const { type, message, line, traceback } = output.error;
    const where = line === null ? "" : ` (line ${line})`;
    lines.push(`error: ${type}: ${message}${where}\n${cut(traceback || output.stderr, max)}`);
  }
  if (output.truncated) lines.push("output was cut at the run's output limit");
  for (const text of output.displays) lines.push(`display:\n${cut(text, max)}`);
  if (output.images.length > 0) {
    const types = output.images.map((image) => image.mediaType).join(", ");
    lines.push(
      `images: ${output.images.length} (${types})${sendImages ? ", attached below" : ", not attached"}`,
    );
  }
  if (output.sessionId !== undefined) lines.push(`sessionId: ${output.sessionId}`);
  const text = lines.join("\n");
  if (!sendImages) return { type: "text", value: text };
  return {
    type: "content",
    value: [
      { type: "text", text },
      ...output.images.map((image) => ({
        type: "image-data" as const,
        data: image.data,
        mediaType: image.mediaType,
      })),
    ],
  };
}
