import { ExecuteRequest, type ExecuteResponse, type RunResult } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { problemResponse } from "../problemResponse";
import { readJson } from "../readBody";
import type { RunJob } from "../runtime/types";
import { rateLimit } from "./access";
import type { HandlerContext, RequestScope } from "./context";
import { json } from "./respond";
import { abandonOnAbort } from "./runRoutes";
import { toJob } from "./toJob";

function describeFailure(result: RunResult, limits: RunJob["limits"]): string {
  switch (result.status) {
    case "timed_out":
      return `${result.stderr}Execution timed out after ${limits.timeoutMs / 1000} s.`;
    case "memory_exceeded":
      return `${result.stderr}Memory limit of ${limits.memoryMb} MiB exceeded.`.trimStart();
    case "output_exceeded":
      return `${result.stderr}Output limit of ${limits.outputBytes} bytes exceeded.`.trimStart();
    case "cancelled":
      return `${result.stderr}Execution was cancelled.`.trimStart();
    default:
      return result.stderr || `Process exited with code ${result.exitCode ?? result.signal}.`;
  }
}

/** The original IDE's `POST /execute` contract, kept so its frontend works unchanged (text only). */
export async function postExecute(
  context: HandlerContext,
  { request, cors, principal }: RequestScope,
): Promise<Response> {
  const fail = (status: number, error: string, extra = new Headers(cors)) =>
    json(
      {
        success: false,
        output: "",
        error,
        execution_time: 0,
        memory_used: 0,
      } satisfies ExecuteResponse,
      status,
      extra,
      request,
    );
  try {
    await rateLimit(request, context.opts, context.limiter);
    const body = await readJson(request, ExecuteRequest, context.opts.maxBodyBytes);
    const language = (body.language ?? "python").toLowerCase();
    if (language !== "python" && language !== "python3" && language !== "py") {
      return fail(
        400,
        `Unsupported language ${JSON.stringify(body.language)}; only Python runs here.`,
      );
    }
    const job = toJob(context, { code: body.code }, false);
    const { run } = await context.runs.submit(job, { principal });
    abandonOnAbort(request, run, context.opts.resumeWindowMs);
    const result = await run.done;
    const success = result.status === "succeeded";
    return json(
      {
        success,
        output: result.stdout,
        error: success ? null : describeFailure(result, job.limits),
        execution_time: Math.round(result.durationMs) / 1000,
        memory_used: result.memoryKb ?? 0,
      } satisfies ExecuteResponse,
      200,
      cors,
      request,
    );
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    const problem = problemResponse(error);
    const headers = new Headers(cors);
    const retry = problem.headers.get("retry-after");
    if (retry) headers.set("retry-after", retry);
    return fail(problem.status, error.detail, headers);
  }
}
