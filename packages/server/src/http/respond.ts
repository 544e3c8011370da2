import { MEDIA_TYPES } from "@mecha/protocol";
import { adapterRequestOf } from "./adapterRequest";

export const encoder = new TextEncoder();
export const utf8Length = (text: string) => encoder.encode(text).byteLength;

/** The text of each response `json()` made, for an adapter that can write it as it is. */
const texts = new WeakMap<Response, string>();

/**
 * A JSON response, never cached. Given the `request` it answers, and that request came through
 * an adapter that writes the text itself (`AdapterRequest.writesText`), the response has no body
 * of its own: the stream a Fetch body is made of costs more than the rest of the answer.
 */
export function json(
  body: unknown,
  status = 200,
  headers = new Headers(),
  request?: Request,
): Response {
  headers.set("content-type", MEDIA_TYPES.json);
  headers.set("cache-control", "no-store");
  const text = JSON.stringify(body);
  const written = request !== undefined && adapterRequestOf(request)?.writesText === true;
  const response = new Response(written ? null : text, { status, headers });
  texts.set(response, text);
  return response;
}

/** The whole body of a response `json()` made (unread), or undefined for any other. */
export function textOf(response: Response): string | undefined {
  return response.bodyUsed ? undefined : texts.get(response);
}
