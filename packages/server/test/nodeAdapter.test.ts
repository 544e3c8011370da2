/**
 * The Node adapter (toNodeListener): bodies read whole or streamed, JSON answers written as they
 * are, and everything else passed to @hono/node-server as the Fetch handler returned it.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { markAnswersAsMade, setAdapterRequest } from "../src/http/adapterRequest";
import { json, textOf } from "../src/http/respond";
import { HttpError } from "../src/httpError";
import { toNodeListener } from "../src/node";
import { problemResponse } from "../src/problemResponse";
import { readJson } from "../src/readBody";

const Echo = z.object({ text: z.string() });
const LIMIT = 1024 * 1024;

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/refused") return json({ error: "who are you?" }, 401);
  if (url.pathname === "/stream") {
    return new Response("plain text", { headers: { "content-type": "text/plain" } });
  }
  if (request.method === "GET" || request.method === "HEAD") {
    const headers = new Headers();
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return json({ hello: "wörld" }, 200, headers, request);
  }
  try {
    const body = await readJson(request, Echo, LIMIT);
    return json(
      { length: body.text.length, aborted: request.signal.aborted },
      200,
      undefined,
      request,
    );
  } catch (error) {
    if (error instanceof HttpError) return problemResponse(error);
    throw error;
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let port: number;

function send(
  method: string,
  path: string,
  body?: string,
  options: { chunked?: boolean; to?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (body !== undefined && !options.chunked) {
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const target = { port: options.to ?? port, host: "127.0.0.1", path, method, headers };
    const req = httpRequest(target, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on("error", reject);
    if (body !== undefined && options.chunked) {
      // In two writes, with no length: a chunked body.
      req.write(body.slice(0, 5));
      req.end(body.slice(5));
    } else {
      req.end(body);
    }
  });
}

beforeAll(async () => {
  server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("toNodeListener", () => {
  it("answers a small body, read whole, with the JSON answer's own headers and length", async () => {
    const answer = await send("POST", "/", JSON.stringify({ text: "é".repeat(10) }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ length: 10, aborted: false });
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.headers["content-length"]).toBe(String(Buffer.byteLength(answer.body)));
  });

  it("answers bodies too large to read whole, and bodies of no stated length, as streams", async () => {
    const large = await send("POST", "/", JSON.stringify({ text: "x".repeat(400_000) }));
    expect(JSON.parse(large.body)).toEqual({ length: 400_000, aborted: false });
    const chunked = await send("POST", "/", JSON.stringify({ text: "chunks" }), { chunked: true });
    expect(JSON.parse(chunked.body)).toEqual({ length: 6, aborted: false });
  });

  it("refuses a body over the handler's limit, stated or not", async () => {
    const body = JSON.stringify({ text: "x".repeat(LIMIT) });
    expect((await send("POST", "/", body)).status).toBe(413);
    expect((await send("POST", "/", body, { chunked: true })).status).toBe(413);
  });

  it("keeps every set-cookie, and sends no body to HEAD", async () => {
    const get = await send("GET", "/");
    expect(JSON.parse(get.body)).toEqual({ hello: "wörld" });
    expect(get.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const head = await send("HEAD", "/");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect(head.headers["content-length"]).toBe(get.headers["content-length"]);
  });

  it("makes no body stream for a JSON answer the adapter writes itself", () => {
    const request = new Request("http://localhost/");
    setAdapterRequest(request, {
      clientGone: false,
      onClientGone: () => () => true,
      readWhole: async () => null,
      writesText: true,
    });
    const response = json({ hello: "wörld" }, 200, undefined, request);
    expect(response.body).toBeNull();
    expect(textOf(response)).toBe('{"hello":"wörld"}');
  });

  it("gives a JSON answer its body when a handler wrapped around Mecha's rebuilds it", async () => {
    const own = async (request: Request) => handler(request);
    markAnswersAsMade(own);
    const wrapped = async (request: Request) => {
      const response = await own(request);
      const headers = new Headers(response.headers);
      headers.set("x-wrapped", "1");
      return new Response(response.body, { status: response.status, headers });
    };
    const other = createServer(toNodeListener(wrapped));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const { port: to } = other.address() as AddressInfo;
      const answer = await send("GET", "/", undefined, { to });
      expect(answer.headers["x-wrapped"]).toBe("1");
      expect(JSON.parse(answer.body)).toEqual({ hello: "wörld" });
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it("gives a JSON answer its body wherever no Node adapter writes it", async () => {
    // The same handler, called as a Fetch runtime calls it.
    const response = await handler(new Request("http://localhost/", { method: "GET" }));
    expect(await response.json()).toEqual({ hello: "wörld" });
    const posted = await handler(
      new Request("http://localhost/", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "abc" }),
      }),
    );
    expect(await posted.json()).toEqual({ length: 3, aborted: false });
  });

  it("answers a request it refuses without waiting for its body", async () => {
    // A body that never comes: the handler refuses before asking for it.
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: "127.0.0.1",
          path: "/refused",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": "1000" },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
          });
        },
      );
      req.on("error", reject);
      req.write('{"text": "');
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({ error: "who are you?" });
  });

  it("passes any other response on as the handler made it", async () => {
    const answer = await send("GET", "/stream");
    expect(answer.headers["content-type"]).toBe("text/plain");
    expect(answer.body).toBe("plain text");
  });
});
