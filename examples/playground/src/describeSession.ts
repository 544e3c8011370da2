import type { UseSessionResult } from "@mecha/react";

type ClientStatus = "unknown" | "online" | "degraded" | "offline";

/** The session banner: what the session is, in a few words, and what that means. */
export interface SessionWords {
  title: string;
  detail: string;
}

/** "12:41:05": when an idle session ends, in the page's time. */
function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

/**
 * Says where the session is and what it keeps — never more than it does: a simulated session
 * keeps nothing, one in the browser lives as long as the page's Python, one on a server that no
 * longer answers cannot run its cells.
 */
export function describeSession(
  { status, session, error }: Pick<UseSessionResult, "status" | "session" | "error">,
  client: ClientStatus,
): SessionWords {
  switch (status) {
    case "idle":
      return {
        title: "No session yet",
        detail:
          "It opens when you run a cell: on the server while it answers, else in your browser.",
      };
    case "opening":
      return { title: "Opening a session…", detail: "" };
    case "error":
      return { title: "Could not open a session", detail: error?.message ?? "" };
    case "lost":
      return {
        title: "Session lost",
        detail: `Its variables, imports and files are gone (${error?.message ?? "lost"}). Restart the session, then run the cells again from the top.`,
      };
    case "closed":
      return { title: "Session closed", detail: "Restart the session to run cells." };
    case "ready":
      break;
  }
  if (!session) return { title: "Opening a session…", detail: "" };
  if (session.backend === "mock") {
    return {
      title: "Simulated: no session",
      detail:
        "Neither the server nor Python in your browser can run code: output is simulated and nothing is kept between cells.",
    };
  }
  if (session.backend === "browser") {
    return {
      title: "Session in your browser",
      detail: `The server was unreachable when it opened: variables and imports are kept in this page's Python until you reload or restart.${
        client === "online" || client === "degraded"
          ? " The server is back: restart the session to move to it (it starts empty)."
          : ""
      }`,
    };
  }
  if (client === "offline") {
    return {
      title: "Session on the server, which is unreachable",
      detail: `Its variables are on the server; cells cannot run until it answers. Restart the session to start an empty one in your browser.`,
    };
  }
  return {
    title: "Session on the server",
    detail: `${session.id} · variables, imports and files kept between cells${
      session.expiresAt ? ` · ends at ${clock(session.expiresAt)} if left idle` : ""
    }`,
  };
}
