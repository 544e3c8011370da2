// A server process of its own for plainZygoteDarwin.test.ts, with the zygote under the macOS
// simulation: it starts one run that leaves `sleep MARK` running, says "running <pid>", and
// waits to be killed.
//   node serverWithASleeper.mjs MARK
import { createHandler } from "../../dist/index.js";
import { spawnUnderSimulatedDarwin } from "./underSimulatedDarwin.mjs";

const [mark] = process.argv.slice(2);
const handler = createHandler({
  sandbox: "none",
  startup: "zygote",
  cgroups: false,
  logger: false,
  spawn: spawnUnderSimulatedDarwin,
});
const response = await handler(
  new Request("http://localhost/runs", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/x-ndjson" },
    body: JSON.stringify({
      language: "python",
      code: `import subprocess, time\nsubprocess.Popen(['sleep', '${mark}'])\ntime.sleep(300)`,
      limits: { timeoutMs: 60_000 },
    }),
  }),
);
process.stdout.write(`running ${response.status}\n`);
await new Promise(() => {});
