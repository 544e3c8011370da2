import { describe, expect, it } from "vitest";
import { describeSession } from "../src/describeSession";

type Snapshot = Parameters<typeof describeSession>[0];

const open = (backend: "server" | "browser" | "mock"): Snapshot => ({
  status: "ready",
  error: null,
  session: {
    id: `${backend}-1`,
    backend,
    expiresAt: backend === "server" ? "2030-01-01T12:10:00Z" : null,
  } as Snapshot["session"],
});

/** What the session banner says where the end-to-end tests cannot easily go. */
describe("describeSession", () => {
  it.each<[string, Snapshot, Parameters<typeof describeSession>[1], string, RegExp]>([
    [
      "before the first cell",
      { status: "idle", session: null, error: null },
      "online",
      "No session yet",
      /opens when you run a cell/,
    ],
    [
      "on the server",
      open("server"),
      "online",
      "Session on the server",
      /^server-1 · variables, imports and files kept between cells · ends at \d\d:\d\d:\d\d if left idle$/,
    ],
    [
      "on a server that stopped answering",
      open("server"),
      "offline",
      "Session on the server, which is unreachable",
      /cells cannot run until it answers/,
    ],
    [
      "in the browser, the server away",
      open("browser"),
      "offline",
      "Session in your browser",
      /kept in this page's Python until you reload or restart\.$/,
    ],
    [
      "in the browser, the server back",
      open("browser"),
      "online",
      "Session in your browser",
      /The server is back: restart the session to move to it \(it starts empty\)\.$/,
    ],
    [
      "simulated",
      open("mock"),
      "offline",
      "Simulated: no session",
      /nothing is kept between cells/,
    ],
    [
      "lost",
      { status: "lost", session: null, error: new Error("killed") },
      "online",
      "Session lost",
      /gone \(killed\)\. Restart the session/,
    ],
    [
      "not opened",
      { status: "error", session: null, error: new Error("busy") },
      "online",
      "Could not open a session",
      /^busy$/,
    ],
  ])("%s", (_name, snapshot, client, title, detail) => {
    const words = describeSession(snapshot, client);
    expect(words.title).toBe(title);
    expect(words.detail).toMatch(detail);
  });
});
