import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type ViteDevServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, freePort, here, startPlayground, stopProcesses } from "./harness";

/**
 * The React quick start's Vite line, as written: a Vite dev server whose `server.proxy` passes
 * `/api/mecha` on to the Express app (here the playground's), with runs streaming through it
 * as they are printed.
 */

const readme = readFileSync(join(here, "../../packages/react/README.md"), "utf8");
const proxyLine = /server: \{ proxy: \{ "(\/[^"]+)": "(http:\/\/[^"]+)" \} \}/.exec(readme);

let vite: ViteDevServer;
let base = "";
const root = mkdtempSync(join(tmpdir(), "mecha-vite-"));

beforeAll(async () => {
  ensureBuilt();
  const express = await startPlayground();
  const port = await freePort();
  vite = await createServer({
    root,
    configFile: false,
    logLevel: "silent",
    // The README's line, pointed at where the Express app listens in this test.
    server: { port, strictPort: true, proxy: { [proxyLine![1]!]: express } },
  });
  await vite.listen();
  base = `http://127.0.0.1:${port}${proxyLine![1]}`;
});

afterAll(async () => {
  await vite?.close();
  await stopProcesses();
  rmSync(root, { recursive: true, force: true });
});

interface StreamEvent {
  type: string;
  id?: string;
  data?: string;
}

/** The events of an NDJSON text. */
const events = (text: string): StreamEvent[] =>
  text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as StreamEvent);

/** The stdout of `events`, however it was split into events. */
const stdoutOf = (list: StreamEvent[]) =>
  list
    .filter((event) => event.type === "stdout")
    .map((event) => event.data)
    .join("");

describe("the React quick start's Vite proxy", () => {
  it("is in the README", () => {
    expect(proxyLine?.slice(1)).toEqual(["/api/mecha", "http://localhost:3000"]);
  });

  it("reaches the Express app's Mecha handler", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ protocol: 1 });
  });

  it("streams a run's output through the proxy while the run goes on", async () => {
    const response = await fetch(`${base}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({
        language: "python",
        code: 'print("before", flush=True)\nprint("after", input())',
      }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    // The output so far, and the program's request for input, arrive while it still waits.
    while (!text.includes('"type":"input"')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += chunk.value;
    }
    // However the server splits or merges the output into events (whole lines only: the last
    // chunk may end mid-line), it is all there, and the run has not ended.
    const sofar = events(text.slice(0, text.lastIndexOf("\n")));
    expect(stdoutOf(sofar)).toBe("before\n");
    expect(sofar.map((event) => event.type)).not.toContain("exit");
    const id = sofar[0]!.id!;
    const stdin = await fetch(`${base}/runs/${id}/stdin`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: "ok\n", eof: true }),
    });
    expect(stdin.status).toBe(204);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += chunk.value;
    }
    const all = events(text);
    expect(stdoutOf(all)).toBe("before\nafter ok\n");
    expect(all.at(-1)).toMatchObject({ type: "exit", result: { status: "succeeded" } });
  });
});
