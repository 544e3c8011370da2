import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import { healthy, NDJSON, request, useClientHarness } from "../test/clientHarness";
import { BASE, ndjson, runResult } from "../test/fixtures";
import type { ClientRunEvent } from "./backend";
import { createRunStore } from "./runStore/createRunStore";

/** A newer server: displays, an event type this client does not know, new fields, a new status. */
const { server, makeClient } = useClientHarness();

const PLOT = { "text/plain": "<Figure size 640x480>", "image/png": "iVBORw0KGgo=" };
const stdout = "loading\ndone\n";
const final = {
  ...runResult({ stdout, displays: [{ data: PLOT }, { data: { "text/plain": "42" } }] }),
  status: "preempted",
  exitCode: null,
  gpuMs: 40,
};

function newerStream() {
  return new HttpResponse(
    ndjson([
      { type: "started", seq: 0, id: "run_1", region: "eu" },
      { type: "stdout", seq: 1, data: "loading\n" },
      { type: "progress", seq: 2, percent: 50 },
      { type: "display", seq: 3, data: PLOT, metadata: { "image/png": { width: 640 } } },
      { type: "stdout", seq: 4, data: "done\n", colour: "green" },
      { type: "display", seq: 5, data: { "text/plain": "42" } },
      { type: "exit", seq: 6, result: final },
    ]),
    { headers: NDJSON },
  );
}

describe("a stream from a newer server", () => {
  it("skips event types it does not know, drops unknown fields and keeps an unknown status", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => newerStream()),
    );
    const events: ClientRunEvent[] = [];
    const result = await makeClient().run(request, { onEvent: (event) => events.push(event) });
    expect(events.map((event) => event.type)).toEqual([
      "started",
      "stdout",
      "display",
      "stdout",
      "display",
      "exit",
    ]);
    expect(events[0]).toEqual({ type: "started", seq: 0, id: "run_1" });
    expect(events[3]).toEqual({ type: "stdout", seq: 4, data: "done\n" });
    expect(events[2]).toEqual({
      type: "display",
      seq: 3,
      data: PLOT,
      metadata: { "image/png": { width: 640 } },
    });
    const { gpuMs: _dropped, ...known } = final;
    expect(result).toEqual({ ...known, backend: "server" });
    expect(result.status).toBe("preempted");
    expect(result.displays).toEqual([{ data: PLOT }, { data: { "text/plain": "42" } }]);
  });

  it("passes displays through a started run's events in order with its output", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => newerStream()),
    );
    const handle = makeClient().start(request);
    const seen: string[] = [];
    for await (const event of handle.events) {
      if (event.type === "stdout") seen.push(`out ${event.data.trim()}`);
      if (event.type === "display") seen.push(`display ${event.data["text/plain"]}`);
    }
    expect(seen).toEqual([
      "out loading",
      "display <Figure size 640x480>",
      "out done",
      "display 42",
    ]);
    await expect(handle.result).resolves.toMatchObject({ status: "preempted" });
  });

  it("leaves a run store with the displays in the transcript and the status as sent", async () => {
    server.use(
      healthy(),
      http.post(`${BASE}/runs`, () => newerStream()),
    );
    const store = createRunStore();
    await store.execute(makeClient(), request);
    expect(store.output.lines.map((line) => [line.stream, line.text])).toEqual([
      ["stdout", "loading"],
      ["display", "<Figure size 640x480>"],
      ["stdout", "done"],
      ["display", "42"],
    ]);
    expect(store.output.lines[1]?.display).toEqual({
      data: PLOT,
      metadata: { "image/png": { width: 640 } },
    });
    // The run ended, not as `succeeded`; the status the server sent is kept as it is.
    expect(store.getSnapshot()).toMatchObject({ state: "failed", result: { status: "preempted" } });
  });
});
