/**
 * `@mecha/protocol/sessions`: what a client reads of sessions (`POST /sessions`), apart from
 * `@mecha/protocol/responses` so that a client that opens no session does not carry it. Also
 * exported from `@mecha/protocol`.
 */
export { SessionCreated } from "./sessionCreated";
export type { CreateSessionRequest, SessionRunRequest } from "./sessions";
