import type { HealthResponse } from "@mecha/protocol";
import { HttpResponse, http } from "msw";
import { BASE_URL, healthy, problem, runControls, type Step, startScriptedRun } from "./server";

/** A session of the story's server: the names its cells have defined, and whether it died. */
export interface StorySession {
  readonly id: string;
  readonly names: Set<string>;
  lost: boolean;
}

/**
 * The story's Python: what a cell's `code` does in `session` — its steps, ending with an exit
 * event. It defines names by adding them to `session.names`, and kills the interpreter by
 * setting `session.lost`.
 */
export type Interpreter = (code: string, session: StorySession, runId: string) => Step[];

const withSessions: HealthResponse = {
  ...healthy,
  features: ["displays", "sessions"],
  capacity: { ...healthy.capacity, sessions: 0, maxSessions: 16 },
};

let opened = 0;

/**
 * Handlers for a server with sessions, as DESIGN.md specifies them: `POST /sessions`, runs at
 * `POST /sessions/{id}/runs` played by `interpret`, each result saying whether the session was
 * kept, `410 session_lost` for a session whose interpreter died, `404` for one closed or never
 * opened, and `DELETE /sessions/{id}`.
 */
export function serverWithSessions(interpret: Interpreter) {
  const sessions = new Map<string, StorySession>();
  return [
    http.get(`${BASE_URL}/health`, () =>
      HttpResponse.json({
        ...withSessions,
        capacity: { ...withSessions.capacity, sessions: sessions.size },
      }),
    ),
    http.post(`${BASE_URL}/sessions`, () => {
      const id = `story-session-${++opened}`;
      sessions.set(id, { id, names: new Set(), lost: false });
      const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
      return HttpResponse.json({ id, expiresAt }, { status: 201 });
    }),
    http.post(`${BASE_URL}/sessions/:id/runs`, async ({ params, request }) => {
      const session = sessions.get(String(params.id));
      if (!session) {
        return problem(404, "not_found", "Not found", `No session ${String(params.id)}.`);
      }
      if (session.lost) {
        return problem(
          410,
          "session_lost",
          "Session lost",
          `The session ${session.id} is gone with its state: its interpreter died. Open a new session.`,
        );
      }
      const { code } = (await request.json()) as { code: string };
      return startScriptedRun((runId) =>
        interpret(code, session, runId).map((step) => sayWhatBecame(step, session)),
      );
    }),
    http.delete(`${BASE_URL}/sessions/:id`, ({ params }) => {
      if (!sessions.delete(String(params.id))) {
        return problem(404, "not_found", "Not found", `No session ${String(params.id)}.`);
      }
      return new HttpResponse(null, { status: 204 });
    }),
    ...runControls,
  ];
}

/** An exit event's result says what became of the session. */
function sayWhatBecame(step: Step, session: StorySession): Step {
  if (!("type" in step) || step.type !== "exit") return step;
  const state = session.lost ? "lost" : "kept";
  return { ...step, result: { ...step.result, session: { id: session.id, state } } };
}
