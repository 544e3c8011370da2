import {
  CreateSessionRequest,
  describePathProblem,
  type SessionCreated,
  SessionRunRequest,
} from "@mecha/protocol";
import { HttpError } from "../httpError";
import { resolveLimits } from "../options";
import { readJson } from "../readBody";
import { SessionFileError } from "../runtime/types";
import { sessionErrors } from "../sessions/sessionErrors";
import type { SessionRegistry } from "../sessions/sessionRegistry";
import { rateLimit } from "./access";
import type { HandlerContext, RequestScope } from "./context";
import { json } from "./respond";
import { answerRun, submitOptions, wantsStream } from "./runRoutes";
import { toJob } from "./toJob";

function sessionsOf(context: HandlerContext): SessionRegistry {
  if (!context.sessions?.enabled) throw sessionErrors.off();
  return context.sessions;
}

/** `POST /sessions`: 201 `{id, expiresAt}` once its interpreter is ready. */
export async function postSessions(
  context: HandlerContext,
  { request, cors, principal }: RequestScope,
): Promise<Response> {
  const sessions = sessionsOf(context);
  await rateLimit(request, context.opts, context.limiter);
  const body = await readJson(request, CreateSessionRequest, context.opts.maxBodyBytes);
  const { opts } = context;
  const created: SessionCreated = await sessions.open(
    {
      files: body.files ?? [],
      limits: resolveLimits(body.limits, opts.defaultLimits, opts.maxLimits),
      ...(body.idleTimeoutMs !== undefined ? { idleTimeoutMs: body.idleTimeoutMs } : {}),
    },
    principal,
  );
  const headers = new Headers(cors);
  headers.set("location", `${opts.basePath}/sessions/${created.id}`);
  return json(created, 201, headers, request);
}

/** `POST /sessions/{id}/runs`: answered as `POST /runs` is. */
export async function postSessionRuns(
  context: HandlerContext,
  scope: RequestScope,
  id: string,
): Promise<Response> {
  const sessions = sessionsOf(context);
  const { request, principal } = scope;
  await rateLimit(request, context.opts, context.limiter);
  const body = await readJson(request, SessionRunRequest, context.opts.maxBodyBytes);
  const streaming = wantsStream(request);
  const own = await sessions.limitsOf(id, principal);
  const job = toJob(context, body, streaming, own);
  if (job.limits.memoryMb !== own.memoryMb) {
    throw new HttpError(
      "invalid_request",
      `A session's memory limit (${own.memoryMb} MB) is set when it is opened and holds for its whole life; a run in it cannot ask for ${job.limits.memoryMb} MB.`,
      { issues: [{ path: ["limits", "memoryMb"], message: "is the session's" }] },
    );
  }
  const options = submitOptions(request, principal, [id, body, streaming]);
  const { run } = await sessions.submit(id, principal, job, options);
  return answerRun(context, scope, run, streaming);
}

/** `GET /sessions/{id}`: its state, its run in progress, when it expires. */
export async function getSession(
  context: HandlerContext,
  { cors, principal }: RequestScope,
  id: string,
): Promise<Response> {
  return json(await sessionsOf(context).describe(id, principal), 200, cors);
}

/** `DELETE /sessions/{id}`: 204 once its interpreter has ended. */
export async function deleteSession(
  context: HandlerContext,
  { cors, principal }: RequestScope,
  id: string,
): Promise<Response> {
  await sessionsOf(context).close(id, principal);
  return new Response(null, { status: 204, headers: cors });
}

/** Types a browser may show as they are; everything else is sent as a download. */
const SHOWN: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  txt: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  json: "application/json",
};

/** `GET /sessions/{id}/files/{path}`: the bytes of a file in its working directory. */
export async function getSessionFile(
  context: HandlerContext,
  { cors, principal }: RequestScope,
  id: string,
  path: string,
): Promise<Response> {
  const sessions = sessionsOf(context);
  const problem = describePathProblem(path);
  if (problem) {
    throw new HttpError("invalid_request", `The file path ${JSON.stringify(path)} ${problem}.`);
  }
  let file: Awaited<ReturnType<SessionRegistry["readFile"]>>;
  try {
    file = await sessions.readFile(id, principal, path);
  } catch (error) {
    if (!(error instanceof SessionFileError)) throw error;
    if (error.reason === "not_found") throw new HttpError("not_found", error.message);
    if (error.reason === "too_large") throw new HttpError("payload_too_large", error.message);
    throw new HttpError("unavailable", error.message, { retryAfter: 1 });
  }
  const name = path.slice(path.lastIndexOf("/") + 1);
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  const type = SHOWN[extension];
  const headers = new Headers(cors);
  headers.set("content-type", type ?? "application/octet-stream");
  headers.set("content-length", String(file.content.byteLength));
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  // Whatever the program wrote, it never runs as a page of this origin.
  headers.set("content-security-policy", "default-src 'none'; sandbox");
  const disposition = type?.startsWith("image/") ? "inline" : "attachment";
  headers.set(
    "content-disposition",
    `${disposition}; filename*=UTF-8''${encodeURIComponent(name)}`,
  );
  return new Response(new Uint8Array(file.content), { status: 200, headers });
}
