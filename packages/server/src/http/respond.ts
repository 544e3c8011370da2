import { MEDIA_TYPES } from "@mecha/protocol";

export const encoder = new TextEncoder();
export const utf8Length = (text: string) => encoder.encode(text).byteLength;

/** A JSON response, never cached. */
export function json(body: unknown, status = 200, headers = new Headers()): Response {
  headers.set("content-type", MEDIA_TYPES.json);
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(body), { status, headers });
}
