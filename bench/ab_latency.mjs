// Latency at one connection of two or more builds of mecha-server, alternated, on this machine.
//
//   node bench/ab_latency.mjs <label>=<checkout>[|<server arguments>] ... [--rounds N] [--amount N]
//
//   node bench/ab_latency.mjs "before=/tmp/old-checkout|--sandbox required" \
//     "after=.|--sandbox required" --rounds 24 --amount 80
//
// Each checkout's built `packages/server/bin/mecha-server.js` is started once; then, for each
// round, each server in turn (the order reversed every other round) answers `--amount`
// sequential `POST /execute` of `print("hi")` through autocannon at one connection. A host whose
// speed drifts (this one's does, from second to second) moves every server alike, so short
// alternating rounds compare builds where one long run each would compare moments. Prints each
// server's p50 and p90 over all its rounds, and each round's p50. Not the benchmark (run.mjs):
// no Flask, no CPU accounting, no checks of what a run can reach.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "20" },
    amount: { type: "string", default: "80" },
  },
});
const rounds = Number(values.rounds);
const amount = Number(values.amount);
const body = JSON.stringify({ code: 'print("hi")' });

if (positionals.length < 1 || positionals.some((spec) => !spec.includes("="))) {
  console.error("usage: node bench/ab_latency.mjs <label>=<checkout>[|<arguments>] ...");
  process.exit(2);
}

const targets = [];
for (const spec of positionals) {
  const [label, rest] = spec.split(/=(.*)/s);
  const [dir, extra = ""] = rest.split("|");
  const bin = resolve(dir, "packages/server/bin/mecha-server.js");
  const args = [bin, ...extra.split(/\s+/).filter(Boolean), "--quiet", "--port", "0"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((done, fail) => {
    let seen = "";
    child.once("exit", (code) => fail(new Error(`${label}: mecha-server exited (${code})`)));
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = /listening on \S*:(\d+)/.exec(seen);
      if (match) done(Number(match[1]));
    });
  });
  targets.push({ label, child, port, roundP50s: [], times: [] });
}

function load(port, requests) {
  return new Promise((done, fail) => {
    const times = [];
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/execute`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections: 1,
        amount: requests,
      },
      (error) => (error ? fail(error) : done(times.sort((a, b) => a - b))),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status === 200) times.push(ms);
    });
  });
}

const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

for (const target of targets) await load(target.port, 200);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const target of order) {
    const times = await load(target.port, amount);
    target.roundP50s.push(at(times, 0.5));
    target.times.push(...times);
  }
}
for (const target of targets) {
  const sorted = target.times.sort((a, b) => a - b);
  const each = target.roundP50s.map((ms) => ms.toFixed(2)).join(" ");
  console.log(
    `${target.label}: p50 ${at(sorted, 0.5).toFixed(2)} ms, p90 ${at(sorted, 0.9).toFixed(2)} ms over ${sorted.length} requests | each round's p50: ${each}`,
  );
  target.child.removeAllListeners("exit");
  target.child.kill("SIGTERM");
}
