import type { RunRequest } from "@mecha/protocol";
import type {
  Backend,
  BackendKind,
  BackendRun,
  BackendStartOptions,
  ClientRunEvent,
} from "./backend";
import type { MechaClient, RunHandle } from "./createClient";
import type { RunBody, ServerRunContext } from "./serverRun";

/**
 * Where a client made by `createClient` keeps what the package's other entries build on (the
 * sessions of `@mecha/client/session`): `Symbol.for`, so every copy of the package finds it.
 */
export const CLIENT_INTERNALS: unique symbol = /* @__PURE__ */ Symbol.for(
  "mecha.client.internals",
) as never;

/** A client's machinery, for the package's own entries; not a public API. */
export interface ClientInternals {
  /** The backends a new run would try, in order (and health polling started). */
  plan(): BackendKind[];
  backendFor(kind: BackendKind): Promise<Backend>;
  /** Runs on the given backend only, with the client's handle, events, errors and disposal. */
  launch(
    request: RunRequest,
    signal: AbortSignal | undefined,
    interactive: boolean,
    onEvent: ((event: ClientRunEvent) => void) | undefined,
    pinned: { kind: BackendKind; backend: Backend },
  ): RunHandle;
  /** The server's transport, with the client's options, headers, retries and state machine. */
  readonly server: ServerRunContext & {
    /** A streamed run at `path` (`runs`, or a session's `sessions/{id}/runs`). */
    startRun(path: string, body: RunBody, options: BackendStartOptions): BackendRun;
  };
}

/** Gives `client` its internals, out of sight of enumeration and of its type. */
export function withInternals(client: MechaClient, internals: ClientInternals): MechaClient {
  return Object.defineProperty(client, CLIENT_INTERNALS, { value: internals });
}
