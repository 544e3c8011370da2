import { createClient, type FallbackOption } from "@mecha/client";
import type { HealthResponse, RunEvent, RunResult } from "@mecha/protocol";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CodeRunner, MechaProvider } from "../src/index";

const BASE = "http://mecha.test";

const health: HealthResponse = {
  status: "ok",
  version: "0.1.0",
  protocol: 1,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "sandbox" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 2, maxQueued: 8 },
  uptimeMs: 5000,
};

function result(partial: Partial<RunResult> = {}): RunResult {
  return {
    id: "r1",
    language: "python",
    status: "succeeded",
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 12,
    cpuTimeMs: 10,
    memoryKb: 8000,
    ...partial,
  };
}

/** An NDJSON response whose lines the test writes when it likes. */
function ndjsonStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: () => new HttpResponse(body, { headers: { "content-type": "application/x-ndjson" } }),
    send(event: RunEvent) {
      controller.enqueue(encoder.encode(`${JSON.stringify(event)}\n`));
    },
    end() {
      controller.close();
    },
    /** Breaks the connection mid-stream. */
    fail() {
      controller.error(new TypeError("network error"));
    },
  };
}

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function renderRunner(code: string, fallback: FallbackOption = "none") {
  const client = createClient({
    baseUrl: BASE,
    fallback,
    retry: { limit: 0 },
    onWarning: () => {},
  });
  render(
    <MechaProvider client={client}>
      <CodeRunner defaultCode={code} />
    </MechaProvider>,
  );
  return { client, user: userEvent.setup() };
}

describe("with the real client against a protocol v1 server", () => {
  it("streams a run from the server", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json(health)),
      http.post(`${BASE}/runs`, () => {
        const stream = ndjsonStream();
        stream.send({ type: "started", id: "r1" });
        stream.send({ type: "stdout", data: "\x1b[32mhello from the server\x1b[0m\n" });
        stream.send({ type: "exit", result: result({ stdout: "hello from the server\n" }) });
        stream.end();
        return stream.response();
      }),
    );
    const { user } = renderRunner('print("hello")');
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Backend" })).toHaveTextContent(
        "Runs on the server",
      ),
    );
    await user.click(screen.getByRole("button", { name: "Run" }));
    const output = screen.getByRole("log", { name: "Program output" });
    expect(await within(output).findByText("hello from the server")).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Finished in 12 ms",
      ),
    );
  });

  it("answers input() over POST /runs/{id}/stdin", async () => {
    let stream!: ReturnType<typeof ndjsonStream>;
    const received: unknown[] = [];
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json(health)),
      http.post(`${BASE}/runs`, () => {
        stream = ndjsonStream();
        stream.send({ type: "started", id: "r2" });
        stream.send({ type: "stdout", data: "Name? " });
        stream.send({ type: "input", prompt: "Name? " });
        return stream.response();
      }),
      http.post(`${BASE}/runs/r2/stdin`, async ({ request }) => {
        const body = (await request.json()) as { data: string };
        received.push(body);
        stream.send({ type: "stdout", data: `Hi ${body.data.trim()}\n` });
        stream.send({ type: "exit", result: result({ id: "r2" }) });
        stream.end();
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user } = renderRunner('print("Hi", input("Name? "))');
    await user.click(screen.getByRole("button", { name: "Run" }));
    const input = await screen.findByRole("textbox", { name: "Name?" });
    await user.type(input, "Ada{Enter}");
    const output = screen.getByRole("log", { name: "Program output" });
    await waitFor(() => expect(output).toHaveTextContent("Name? AdaHi Ada"));
    expect(received).toEqual([{ data: "Ada\n", eof: false }]);
  });

  it("falls back to labelled simulated output when the server is unreachable", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.error()),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const { user } = renderRunner('print("hi")', "mock");
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Simulated output: this code was not run",
      ),
    );
    const output = screen.getByRole("log", { name: "Program output" });
    expect(output).toHaveTextContent("[mock] Simulated output");
    expect(screen.getAllByRole("definition").at(-1)).toHaveTextContent("simulation");
  });

  it("says so when the server is unreachable and there is no fallback", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.error()),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const { user } = renderRunner('print("hi")');
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
        /^Could not run the code: /,
      ),
    );
  });

  it("never says the server runs code while it has not been reached", async () => {
    server.use(http.get(`${BASE}/health`, () => HttpResponse.error()));
    const { client } = renderRunner('print("hi")', "mock");
    const badge = screen.getByRole("status", { name: "Backend" });
    const seen = [badge.textContent];
    const observer = new MutationObserver(() => seen.push(badge.textContent));
    observer.observe(badge, { subtree: true, childList: true, characterData: true });
    // The first check fails: the client knows why, and still does not say "server".
    await waitFor(() => expect(client.error).toMatchObject({ kind: "unreachable" }));
    await waitFor(() => expect(badge).toHaveAttribute("title", client.error!.message));
    observer.disconnect();
    expect(client.status).toBe("unknown");
    expect(new Set(seen)).toEqual(new Set(["Checking server…"]));
    expect(badge).toHaveAttribute("data-state", "unknown");
  });

  it("says where a run that fell back ran, even before the client counts the server offline", async () => {
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.error()),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    // No browser backend was given, so the client can only fall back to the mock.
    const { user } = renderRunner('print("hi")', ["browser", "mock"]);
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Simulated output: this code was not run",
      ),
    );
    // Whether or not the client counts the server offline yet, the code ran on the mock.
    const badge = screen.getByRole("status", { name: "Backend" });
    expect(badge).toHaveTextContent("Simulated: server offline");
  });

  it("says a run that started did run when its stream breaks, never that it could not run", async () => {
    let reopened = 0;
    let stream!: ReturnType<typeof ndjsonStream>;
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json(health)),
      http.post(`${BASE}/runs`, () => {
        stream = ndjsonStream();
        stream.send({ type: "started", id: "r4", seq: 0 });
        stream.send({ type: "stdout", data: "half way\n", seq: 1 });
        return stream.response();
      }),
      http.get(`${BASE}/runs/r4/events`, () => {
        reopened++;
        return HttpResponse.error();
      }),
    );
    const { user, client } = renderRunner("long_job()", "mock");
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Backend" })).toHaveTextContent(
        "Runs on the server",
      ),
    );
    await user.click(screen.getByRole("button", { name: "Run" }));
    const output = screen.getByRole("log", { name: "Program output" });
    await within(output).findByText("half way");
    stream.fail();
    const words = screen.getByRole("status", { name: "Run status" });
    await waitFor(() => expect(words).toHaveTextContent(/^Started, but how it ended is unknown: /));
    expect(reopened).toBe(1);
    // What it printed stays, and no simulated output stands in for the rest.
    expect(output).toHaveTextContent("half way");
    expect(output).not.toHaveTextContent("[mock]");
    client.dispose();
  });

  it("says why an answer was not sent when the server refuses it, and asks again", async () => {
    let stream!: ReturnType<typeof ndjsonStream>;
    server.use(
      http.get(`${BASE}/health`, () => HttpResponse.json(health)),
      http.post(`${BASE}/runs`, () => {
        stream = ndjsonStream();
        stream.send({ type: "started", id: "r3" });
        stream.send({ type: "stdout", data: "Name? " });
        stream.send({ type: "input", prompt: "Name? " });
        return stream.response();
      }),
      http.post(`${BASE}/runs/r3/stdin`, () =>
        HttpResponse.json(
          {
            type: "https://mecha.dev/errors/conflict",
            title: "The run is not waiting for input",
            status: 409,
            code: "conflict",
          },
          { status: 409, headers: { "content-type": "application/problem+json" } },
        ),
      ),
      http.post(`${BASE}/runs/r3/cancel`, () => {
        stream.send({ type: "exit", result: result({ id: "r3", status: "cancelled" }) });
        stream.end();
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user, client } = renderRunner('print("Hi", input("Name? "))');
    await user.click(screen.getByRole("button", { name: "Run" }));
    await user.type(await screen.findByRole("textbox", { name: "Name?" }), "Ada{Enter}");
    const output = screen.getByRole("log", { name: "Program output" });
    const note = await within(output).findByText(/^Your input could not be sent: /);
    expect(note.closest("[data-stream]")).toHaveAttribute("data-stream", "info");
    await waitFor(() => expect(screen.getByRole("textbox", { name: "Name?" })).toHaveValue("Ada"));
    await user.click(screen.getByRole("button", { name: "Stop" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent("Stopped"),
    );
    client.dispose();
  });
});
