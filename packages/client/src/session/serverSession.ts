import type { CreateSessionRequest } from "@mecha/protocol";
import { SessionCreated } from "@mecha/protocol/sessions";
import type { BackendSession } from "../backend";
import type { ClientInternals } from "../clientInternals";
import { readJson } from "../readJson";

/**
 * A session on the server: `POST /sessions`, its runs at `POST /sessions/{id}/runs` (streamed,
 * resumed and keyed as other runs), its files at `GET /sessions/{id}/files/{path}`, and
 * `DELETE /sessions/{id}`.
 */
export async function openServerSession(
  server: ClientInternals["server"],
  request: CreateSessionRequest,
  signal: AbortSignal | undefined,
): Promise<BackendSession> {
  const { send, fail } = server;
  const created = await send({
    method: "POST",
    path: "sessions",
    json: request,
    // (A POST: a repeat would open a second session, so it is sent again only where the server
    // cannot have acted.)
    signal,
    read: readJson(fail, SessionCreated, "new session"),
  });
  const path = `sessions/${encodeURIComponent(created.id)}`;
  return {
    id: created.id,
    expiresAt: created.expiresAt,
    start: (run, startOptions) => server.startRun(`${path}/runs`, run, startOptions),
    readFile: (file, fileSignal) =>
      send({
        method: "GET",
        path: `${path}/files/${file.split("/").map(encodeURIComponent).join("/")}`,
        accept: "*/*",
        signal: fileSignal,
        read: async (response, attempt) => {
          if (!response.ok) await fail(response, attempt);
          return new Uint8Array(await response.arrayBuffer());
        },
      }),
    close: () =>
      send({
        method: "DELETE",
        path,
        read: async (response, attempt) => {
          // Already gone (expired, or closed before): nothing is left to close.
          if (!response.ok && response.status !== 404) await fail(response, attempt);
        },
      }),
  };
}
