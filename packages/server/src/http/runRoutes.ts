import { createHash } from "node:crypto";
import { HEADERS, MEDIA_TYPES, RunRequest, StdinRequest } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { readJson } from "../readBody";
import type { RunHandle, SubmitOptions } from "../runs/runRegistry";
import { rateLimit } from "./access";
import { adapterRequestOf } from "./adapterRequest";
import type { HandlerContext, RequestScope } from "./context";
import { streamedJson } from "./jsonChunks";
import { json } from "./respond";
import { streamRun } from "./streamRun";
import { toJob } from "./toJob";

/** When the client goes away before the run ends, the run is abandoned (see Run.abandoned). */
export function abandonOnAbort(request: Request, run: RunHandle, windowMs: number): void {
  const onAbort = () => run.abandoned(windowMs);
  const known = adapterRequestOf(request);
  if (known) {
    if (known.clientGone) onAbort();
    else void run.done.then(known.onClientGone(onAbort));
    return;
  }
  const signal = request.signal;
  if (!signal) return;
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener("abort", onAbort, { once: true });
    void run.done.then(() => signal.removeEventListener("abort", onAbort));
  }
}

export function wantsStream(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes(MEDIA_TYPES.ndjson);
}

/** What makes a retried request safe: its `Idempotency-Key` and a digest of what it asked for. */
export function submitOptions(
  request: Request,
  principal: string | undefined,
  asked: unknown,
): SubmitOptions {
  const key = request.headers.get(HEADERS.idempotencyKey) ?? undefined;
  if (key === undefined) return { principal };
  if (key.length === 0 || key.length > 255) {
    throw new HttpError("invalid_request", "Idempotency-Key must be 1 to 255 characters.");
  }
  const fingerprint = createHash("sha256").update(JSON.stringify(asked)).digest("hex");
  return { principal, idempotencyKey: key, fingerprint };
}

/** Answers an admitted run: as JSON once it ends, or as a live NDJSON stream. */
export async function answerRun(
  context: HandlerContext,
  { request, cors }: RequestScope,
  run: RunHandle,
  streaming: boolean,
): Promise<Response> {
  const window = context.opts.resumeWindowMs;
  // Touched before the abort is watched: a request that went away before this point still
  // abandons its run (a later touch would otherwise count as its owner coming back).
  run.touch();
  abandonOnAbort(request, run, window);
  if (streaming) return streamRun(run, cors, -1, () => run.abandoned(window));
  return json(await run.done, 200, cors, request);
}

/** `POST /runs`: a run, answered as JSON once it ends or as a live NDJSON stream. */
export async function postRuns(context: HandlerContext, scope: RequestScope): Promise<Response> {
  const { request, principal } = scope;
  await rateLimit(request, context.opts, context.limiter);
  const body = await readJson(request, RunRequest, context.opts.maxBodyBytes);
  const streaming = wantsStream(request);
  const options = submitOptions(request, principal, [body, streaming]);
  const { run } = await context.runs.submit(toJob(context, body, streaming), options);
  return answerRun(context, scope, run, streaming);
}

/** `GET /runs/{id}`: the result once ended, else 202 with where it is. */
export async function getRun(
  context: HandlerContext,
  { cors, principal }: RequestScope,
  id: string,
): Promise<Response> {
  const run = await context.runs.get(id, principal);
  run.touch();
  const view = await run.view();
  // Written as the client reads it: many readers of one large result hold no copy of it each.
  if (view.state === "finished") return streamedJson(view.result, 200, cors);
  return json({ id: run.id, status: view.state }, 202, cors);
}

/** `GET /runs/{id}/events?after=SEQ`: its events from after SEQ, then live until `exit`. */
export async function getEvents(
  context: HandlerContext,
  { request, cors, principal }: RequestScope,
  id: string,
): Promise<Response> {
  const run = await context.runs.get(id, principal);
  const param = new URL(request.url).searchParams.get("after");
  let after = -1;
  if (param !== null) {
    if (!/^(-1|0|[1-9][0-9]{0,15})$/.test(param)) {
      throw new HttpError(
        "invalid_request",
        `after must be the seq of an event already received (a whole number ≥ 0), got ${JSON.stringify(param)}.`,
      );
    }
    after = Number(param);
  }
  // A reader that has every event of an ended run, its `exit` included, has nothing to wait for.
  if ((await run.checkAfter(after)) === "none") return streamRun(null, cors);
  return streamRun(run, cors, after, () => run.abandoned(context.opts.resumeWindowMs));
}

/** `POST /runs/{id}/stdin` and `POST /runs/{id}/cancel`. */
export async function controlRun(
  context: HandlerContext,
  { request, cors, principal }: RequestScope,
  id: string,
  action: "stdin" | "cancel",
): Promise<Response> {
  if (action === "stdin") {
    const body = await readJson(request, StdinRequest, context.opts.maxBodyBytes);
    const run = await context.runs.get(id, principal);
    await run.writeStdin(body.data, body.eof ?? false);
    return new Response(null, { status: 204, headers: cors });
  }
  const run = await context.runs.get(id, principal);
  if (!(await run.cancel())) throw new HttpError("run_finished", `Run ${id} has already finished.`);
  return json({ id, status: "cancelling" }, 202, cors, request);
}
