// Streaming latency: from the moment a program prints to the moment the client holds the line.
import { request } from "node:http";

/**
 * Offset that turns performance.now() into Unix time with sub-millisecond precision: waits for
 * Date.now() to tick to the next millisecond, when it is exact, and reads performance.now()
 * there. Taken fresh before each series so clock slewing cannot build up.
 */
export function wallClockOffset() {
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const start = Date.now();
    let now = Date.now();
    let before = performance.now();
    while (now === start) {
      before = performance.now();
      now = Date.now();
    }
    const after = performance.now();
    samples.push(now - (before + after) / 2);
  }
  samples.sort((a, b) => a - b);
  return samples[2];
}

/** The program: prints the server machine's Unix time, then sleeps. */
export const STREAM_CODE = "import time\nprint(repr(time.time()))\ntime.sleep(1)\n";

/**
 * One streamed run on a Mecha server: POST /runs with Accept: application/x-ndjson. Returns
 * the delay in ms between the program's print and the first `stdout` event's arrival.
 */
export function streamOnce(port, offset) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/runs",
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        let buffer = "";
        let delayMs = null;
        let status = null;
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          const arrivedMs = performance.now() + offset;
          buffer += chunk;
          let newline = buffer.indexOf("\n");
          while (newline >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            newline = buffer.indexOf("\n");
            if (!line.trim()) continue;
            const event = JSON.parse(line);
            if (event.type === "stdout" && delayMs === null) {
              delayMs = arrivedMs - Number.parseFloat(event.data) * 1000;
            } else if (event.type === "exit") {
              status = event.result?.status ?? null;
            }
          }
        });
        res.on("end", () => {
          if (delayMs === null) reject(new Error(`no stdout event (status ${status})`));
          else resolve({ delayMs, status });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error("timed out")));
    req.end(JSON.stringify({ language: "python", code: STREAM_CODE }));
  });
}

/**
 * The same program through a non-streaming `POST /execute` (Flask): the output arrives with
 * the response, after the program has ended.
 */
export function executeOnce(port, offset) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/execute",
        method: "POST",
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => {
          const arrivedMs = performance.now() + offset;
          try {
            const parsed = JSON.parse(body);
            resolve({
              delayMs: arrivedMs - Number.parseFloat(parsed.output) * 1000,
              status: parsed.success ? "succeeded" : "failed",
            });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on("error", reject);
    req.setTimeout(15_000, () => req.destroy(new Error("timed out")));
    req.end(JSON.stringify({ code: STREAM_CODE }));
  });
}
