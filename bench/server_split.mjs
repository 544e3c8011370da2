// Where the server process's CPU per request goes: its HTTP layer against its runtime.
//
//   pnpm build && node bench/server_split.mjs [--requests N] [--sandbox required|none]
//
// 1. HTTP: `createHandler` behind `node:http` (as `mecha-server` mounts it), with a runtime that
//    answers every run at once, loaded with autocannon in this process at 10 connections; and,
//    for the floor, a bare `node:http` server answering the same body.
// 2. Runtime: `createPythonRuntime` alone, `print("hi")` runs at 4 at once (the default
//    `maxConcurrent` here), no HTTP: the server process's share of a real run.
// CPU is this process's (`process.cpuUsage`), so (1) includes autocannon's, which the bare
// server's line shows. Not a side-by-side measurement of targets: see run.mjs for that.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    sandbox: { type: "string", default: "required" },
  },
});
const requests = Number(values.requests);
const server = await import("../packages/server/dist/index.js");
const { toNodeListener } = await import("../packages/server/dist/node.js");

const ANSWER = '{"success":true,"output":"hi\\n","error":null,"execution_time":0.001}';
const instant = {
  async info() {
    return { name: "python", version: "3", isolation: "sandbox", available: true };
  },
  start(_job, sink) {
    const done = new Promise((resolve) =>
      setImmediate(() => {
        sink.stdout("hi\n");
        resolve({
          ...{ status: "succeeded", exitCode: 0, signal: null, stdout: "hi\n", stderr: "" },
          ...{ truncated: false, durationMs: 1, cpuTimeMs: 1, memoryKb: 1 },
        });
      }),
    );
    return { writeStdin() {}, stdinBuffered: 0, cancel() {}, done };
  },
  async close() {},
};

/** Node CPU ms per request of `amount` POST /execute at 10 connections (after a warm-up). */
async function loadCpu(listener) {
  const http = createServer(listener);
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  const fire = (amount) =>
    new Promise((resolve, reject) =>
      autocannon(
        {
          url: `http://127.0.0.1:${http.address().port}/execute`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code: 'print("hi")' }),
          connections: 10,
          amount,
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      ),
    );
  await fire(Math.min(5000, requests));
  const before = process.cpuUsage();
  const result = await fire(requests);
  const used = process.cpuUsage(before);
  http.close();
  if (result.non2xx || result.errors) throw new Error(`failed requests: ${JSON.stringify(result)}`);
  return (used.user + used.system) / 1000 / requests;
}

const bare = await loadCpu((request, response) => {
  request.resume();
  request.on("end", () => {
    response.setHeader("content-type", "application/json");
    response.end(ANSWER);
  });
});
const handler = server.createHandler({ runtime: instant, logger: false, maxQueued: 64 });
const http = await loadCpu(toNodeListener(handler));
await handler.close();

const quiet = { info() {}, warn() {}, error() {} };
const runtime = server.createPythonRuntime({ sandbox: values.sandbox, logger: quiet });
await runtime.info();
const job = () => ({
  id: randomUUID(),
  code: 'print("hi")',
  ...{ files: [], args: [], stdin: "", interactive: false },
  limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
});
const sink = { stdout() {}, stderr() {}, input() {}, display() {} };
async function runs(count) {
  let left = count;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) {
        const outcome = await runtime.start(job(), sink).done;
        if (outcome.status !== "succeeded") throw new Error(JSON.stringify(outcome));
      }
    }),
  );
}
const runCount = Math.max(500, Math.round(requests / 10));
await runs(200);
const before = process.cpuUsage();
await runs(runCount);
const used = process.cpuUsage(before);
await runtime.close();

const ms = (value) => value.toFixed(3);
console.log(`Node CPU per request (ms), ${requests} requests / ${runCount} runs:`);
console.log(`  bare node:http + autocannon          ${ms(bare)}`);
console.log(
  `  handler (instant runtime) + autocannon ${ms(http)}  → HTTP layer ≈ ${ms(http - bare)}`,
);
console.log(
  `  runtime alone (sandbox: ${values.sandbox}), per run   user ${ms(used.user / 1000 / runCount)}  system ${ms(used.system / 1000 / runCount)}`,
);
process.exit(0);
