import type { BackendKind } from "../internal/clientTypes";
import type { SessionRunner, SessionStatus } from "./createSessionStore";

/** Where a session is: its status, and the backend it lives on once open (else null). */
export interface SessionPlace {
  status: SessionStatus;
  backend: BackendKind | null;
}

/**
 * Reads where a runner's session is: from `useSession()`'s value (its `status`, and its open
 * session's `backend`) or from a `Session` of `@mecha/client/session` (open, on its `backend`).
 * Null for a runner that says neither.
 */
export function sessionPlace(runner: SessionRunner | null | undefined): SessionPlace | null {
  if (!runner) return null;
  const value = runner as Partial<{
    status: SessionStatus;
    session: { backend: BackendKind } | null;
    backend: BackendKind;
  }>;
  if (typeof value.status === "string") {
    return { status: value.status, backend: value.session?.backend ?? null };
  }
  if (typeof value.backend === "string") return { status: "ready", backend: value.backend };
  return null;
}
