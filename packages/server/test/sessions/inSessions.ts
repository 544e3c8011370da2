import type { MechaHandler } from "../../src/createHandler";

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/**
 * A handler whose `POST /runs` (a JSON request without `args`) runs each program in a session
 * of its own: the session opened with the run's limits and the program as `main.py` (the
 * programs re-execute their own file), a first cell that sets `__file__` to it (plus `warmUp`,
 * a cell that imports and defines things, when given), the program run as the next cell with
 * the run's files, then the session deleted before the answer goes back, so that what the
 * program left behind is gone as after a single run. Streaming requests, requests with `args`
 * (a session run has none) and every other route go to the handler as they are.
 */
export function inSessions(handler: MechaHandler, warmUp?: string): MechaHandler {
  const wrapped = (async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const streaming = (request.headers.get("accept") ?? "").includes("ndjson");
    if (request.method !== "POST" || !url.pathname.endsWith("/runs") || streaming) {
      return handler(request);
    }
    const body = (await request.clone().json()) as Record<string, unknown>;
    if (body.args !== undefined || url.pathname.includes("/sessions/")) return handler(request);
    const base = url.origin + url.pathname.slice(0, -"/runs".length);
    const headers = Object.fromEntries(request.headers);
    const opened = await handler(
      new Request(`${base}/sessions`, {
        ...json({
          language: "python",
          limits: body.limits,
          files: [{ path: "main.py", content: body.code }],
        }),
        headers: { ...headers, "content-type": "application/json" },
      }),
    );
    if (opened.status !== 201) return opened;
    const { id } = (await opened.json()) as { id: string };
    const runIn = (code: unknown, rest: Record<string, unknown>) =>
      handler(
        new Request(`${base}/sessions/${id}/runs`, {
          ...json({ ...rest, code }),
          headers: { ...headers, "content-type": "application/json" },
          signal: request.signal,
        }),
      );
    try {
      const setUp = `import os as _os\n__file__ = _os.path.abspath("main.py")\ndel _os\n${warmUp ?? ""}`;
      {
        // The program's limits but its time: a trivial cell given a case's short time limit could
        // miss it on a loaded machine.
        const limits = {
          ...(body.limits as Record<string, unknown> | undefined),
          timeoutMs: 20_000,
        };
        const warmed = await runIn(setUp, { limits });
        const result = (await warmed.json()) as { status: string; stderr: string };
        if (result.status !== "succeeded") {
          throw new Error(`the warm-up cell ${result.status}: ${result.stderr}`);
        }
      }
      const { language: _language, ...rest } = body;
      const answered = await runIn(body.code, rest);
      const text = await answered.text();
      return new Response(text, { status: answered.status, headers: answered.headers });
    } finally {
      await handler(new Request(`${base}/sessions/${id}`, { method: "DELETE", headers }));
    }
  }) as MechaHandler;
  return Object.assign(wrapped, {
    close: () => handler.close(),
    health: () => handler.health(),
    ready: () => handler.ready(),
    runtime: handler.runtime,
  });
}
