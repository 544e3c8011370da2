// Load generation with autocannon, keeping every response time (ms, sub-ms precision).
import autocannon from "autocannon";

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function median(values) {
  const sorted = values.filter((v) => typeof v === "number").sort((a, b) => a - b);
  return percentile(sorted, 50);
}

/**
 * Makes an autocannon client wait for the server's close before its next request when a
 * response says `Connection: close` (Werkzeug, Flask's server, says it on every response).
 * Without this, autocannon 9 writes the next request onto the closing socket, keeps that lost
 * request at the head of its queue, and times every later response against it: latencies
 * then grow without bound and `amount` counts requests the server never saw.
 */
function honourConnectionClose(client) {
  const proto = Object.getPrototypeOf(client);
  client.on("headers", (info) => {
    if (info.shouldKeepAlive === false) client.serverClosing = true;
  });
  client._doRequest = function doRequest(...args) {
    const limitReached = this.responseMax && this.reqsMade >= this.responseMax;
    if (this.serverClosing && !limitReached) return undefined;
    return proto._doRequest.apply(this, args);
  };
  client._connect = function connect(...args) {
    this.serverClosing = false;
    this.pipelinedRequests.clear();
    return proto._connect.apply(this, args);
  };
}

/**
 * One autocannon run. `request` is { path, body, headers, verify(body) → true when the
 * response is the expected one }. Either `duration` (s) or `amount` (total requests).
 * Everything that went wrong is counted: connection errors, timeouts, non-2xx statuses, and
 * 2xx bodies that fail `verify` (mismatches), with a sample of each.
 */
export async function load(baseUrl, request, { connections, duration, amount, timeout = 30 }) {
  const times = [];
  const statuses = {};
  const errorSamples = [];
  const mismatchSamples = [];
  const non2xxSamples = [];
  let mismatches = 0;
  // autocannon emits a response's "response" event and then, synchronously, its "reqMismatch":
  // the last status seen is the status of the body that failed.
  let lastStatus = 0;
  const t0 = performance.now();
  let lastResponseAt = t0;
  const instance = autocannon({
    url: `${baseUrl}${request.path}`,
    method: "POST",
    headers: { "content-type": "application/json", ...request.headers },
    body: request.body,
    connections,
    ...(amount ? { amount } : { duration }),
    timeout,
    // Ends the run within 0.1 s of its duration or last response (the default 1 s tick can
    // stretch a run, or a burst's wall time, by up to a second).
    sampleInt: 100,
    verifyBody: request.verify,
    setupClient: honourConnectionClose,
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    lastResponseAt = performance.now();
    lastStatus = statusCode;
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
  });
  instance.on("reqError", (error) => {
    if (errorSamples.length < 3) errorSamples.push(String(error?.message ?? error));
  });
  instance.on("reqMismatch", (body) => {
    const text = String(body).slice(0, 300);
    if (lastStatus >= 200 && lastStatus < 300) {
      mismatches++;
      if (mismatchSamples.length < 2) mismatchSamples.push(text);
    } else if (non2xxSamples.length < 2) {
      non2xxSamples.push(`HTTP ${lastStatus}: ${text}`);
    }
  });
  const result = await instance;
  times.sort((a, b) => a - b);
  const ok2xx = Object.entries(statuses)
    .filter(([code]) => code.startsWith("2"))
    .reduce((sum, [, count]) => sum + count, 0);
  const good = ok2xx - mismatches;
  const seconds = (result.finish - result.start) / 1000;
  return {
    connections,
    seconds,
    /** From the call to the last response (for fixed-amount runs such as bursts). */
    wallMs: lastResponseAt - t0,
    responses: Object.values(statuses).reduce((a, b) => a + b, 0),
    good,
    rps: good / seconds,
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    p99: percentile(times, 99),
    max: times.length ? times[times.length - 1] : null,
    mean: times.length ? times.reduce((a, b) => a + b, 0) / times.length : null,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches,
    statuses,
    errorSamples: [...errorSamples, ...non2xxSamples],
    mismatchSamples,
    /** Every 2xx response time, sorted (for merging runs; not written to the report). */
    times,
  };
}

/** Combines runs of the same measurement (rounds) into one result: all response times pooled. */
export function merge(results) {
  const list = results.filter(Boolean);
  if (list.length === 0) return null;
  if (list.length === 1) return list[0];
  const times = list.flatMap((r) => r.times).sort((a, b) => a - b);
  const sum = (key) => list.reduce((total, r) => total + (r[key] ?? 0), 0);
  const statuses = {};
  for (const r of list) {
    for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  }
  const seconds = sum("seconds");
  const cpu = {};
  for (const key of Object.keys(list[0].cpu ?? {})) {
    const values = list.map((r) => r.cpu[key]);
    cpu[key] = values.every((v) => typeof v === "number")
      ? values.reduce((a, b) => a + b, 0)
      : values[0];
  }
  if (cpu.wallMs) {
    // otherCores is a rate: weight each round by its length.
    cpu.otherCores = list.reduce((t, r) => t + r.cpu.otherCores * r.cpu.wallMs, 0) / cpu.wallMs;
  }
  return {
    connections: list[0].connections,
    seconds,
    wallMs: sum("wallMs"),
    responses: sum("responses"),
    good: sum("good"),
    rps: sum("good") / seconds,
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    p99: percentile(times, 99),
    max: times.length ? times[times.length - 1] : null,
    mean: times.length ? times.reduce((a, b) => a + b, 0) / times.length : null,
    errors: sum("errors"),
    timeouts: sum("timeouts"),
    non2xx: sum("non2xx"),
    mismatches: sum("mismatches"),
    statuses,
    errorSamples: list.flatMap((r) => r.errorSamples).slice(0, 3),
    mismatchSamples: list.flatMap((r) => r.mismatchSamples).slice(0, 2),
    times,
    cpu,
  };
}

/** Problems seen in a load result, as one short string ("" when clean). */
export function problems(r) {
  if (!r) return "";
  const parts = [];
  if (r.errors) parts.push(`${r.errors} errors${r.timeouts ? ` (${r.timeouts} timeouts)` : ""}`);
  if (r.non2xx) {
    const codes = Object.entries(r.statuses)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, n]) => `${n}×${code}`)
      .join(", ");
    parts.push(`${r.non2xx} non-2xx (${codes})`);
  }
  if (r.mismatches) parts.push(`${r.mismatches} wrong bodies`);
  return parts.join("; ");
}
