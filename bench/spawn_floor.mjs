#!/usr/bin/env node
// The spawn floor: the least any "one cold interpreter per request" server can do. POST
// /execute {code} spawns `/usr/bin/python3 -E -s -c <code>` and answers in the shape of the
// original /execute contract. No sandbox, no limits, no queue, no validation beyond JSON.
//
//   node bench/spawn_floor.mjs [--port 0] [--python /usr/bin/python3]
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/execute") {
    reply(res, 404, { success: false, output: "", error: "not found", execution_time: 0 });
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let code;
    try {
      code = JSON.parse(Buffer.concat(chunks).toString("utf8")).code;
    } catch {}
    if (typeof code !== "string") {
      reply(res, 400, { success: false, output: "", error: "no code", execution_time: 0 });
      return;
    }
    const started = performance.now();
    const child = spawn(values.python, ["-E", "-s", "-c", code], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = [];
    const err = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    child.once("error", (error) => {
      reply(res, 500, { success: false, output: "", error: error.message, execution_time: 0 });
    });
    child.once("close", (exitCode) => {
      const stderr = Buffer.concat(err).toString("utf8");
      reply(res, 200, {
        success: exitCode === 0,
        output: Buffer.concat(out).toString("utf8"),
        error: exitCode === 0 ? null : stderr,
        execution_time: (performance.now() - started) / 1000,
      });
    });
  });
});

server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`spawn-floor listening on http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
