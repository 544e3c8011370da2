export type { BackendSession } from "../backend";
export type { Session, SessionOptions, SessionRunFields } from "./createSession";
export { createSession } from "./createSession";
