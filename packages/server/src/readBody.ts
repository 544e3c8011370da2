import type { ProblemIssue } from "@mecha/protocol";
import { adapterRequestOf } from "./http/adapterRequest";
import { HttpError } from "./httpError";

interface Schema<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> };
      };
}

const tooLarge = (maxBytes: number) =>
  new HttpError("payload_too_large", `The request body is over the ${maxBytes}-byte limit.`);

/** Reads at most `maxBytes` of a request body, failing with 413 beyond it. */
async function readLimited(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const read = await adapterRequestOf(request)?.readWhole();
  if (read) {
    if (read.byteLength > maxBytes) throw tooLarge(maxBytes);
    return new TextDecoder().decode(read);
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Reads a JSON body and validates it: 415, 413 and 400 as the protocol says. */
export async function readJson<T>(
  request: Request,
  schema: Schema<T>,
  maxBytes: number,
): Promise<T> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type.trim())) {
    throw new HttpError(
      "unsupported_media_type",
      `Send the body as application/json (got ${type ? JSON.stringify(type) : "no Content-Type"}).`,
    );
  }
  const text = await readLimited(request, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new HttpError(
      "invalid_request",
      `The body is not valid JSON: ${(cause as Error).message}`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues: ProblemIssue[] = parsed.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === "number" ? part : String(part))),
      message: issue.message,
    }));
    const summary = issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
      .join("; ");
    throw new HttpError("invalid_request", `The request does not match the protocol: ${summary}`, {
      issues,
    });
  }
  return parsed.data;
}
