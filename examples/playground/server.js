// The playground: an Express 5 app that mounts Mecha at /api/mecha and serves the page.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHandler } from "@mecha/server";
import { toNodeListener } from "@mecha/server/node";
import express from "express";

const dist = fileURLToPath(new URL("./dist", import.meta.url));
if (!existsSync(dist)) {
  console.error("playground: the page is not built; run `pnpm --filter @mecha/playground build`.");
  process.exit(1);
}

// The Pyodide files for in-browser Python, self-hosted from the pyodide npm package.
const pyodide = dirname(createRequire(import.meta.url).resolve("pyodide/package.json"));

const mecha = createHandler({
  // The page may be pointed at this server from another local port (?endpoint=…).
  cors: (origin) => /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(origin),
});
const app = express();
app.disable("x-powered-by");
// Cross-origin isolation lets in-browser Python share memory with the page (input(), interrupt).
// CROSS_ORIGIN_ISOLATION=off serves the page without it, to see how the fallback copes.
const isolated = process.env.CROSS_ORIGIN_ISOLATION !== "off";
app.use((_req, res, next) => {
  if (isolated) {
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  }
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  next();
});
app.use("/api/mecha", toNodeListener(mecha));
app.use(
  "/pyodide",
  express.static(pyodide, {
    index: false,
    maxAge: "1d",
    setHeaders(res, path) {
      // Compiled with streaming only when served as application/wasm.
      if (path.endsWith(".wasm")) res.setHeader("Content-Type", "application/wasm");
      if (path.endsWith(".mjs")) res.setHeader("Content-Type", "text/javascript; charset=utf-8");
    },
  }),
);
app.use(express.static(dist, { index: "index.html" }));

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const server = app.listen(port, host, async (error) => {
  if (error) {
    const reason =
      error.code === "EADDRINUSE"
        ? `port ${port} is already in use; set PORT to another one`
        : error.message;
    console.error(`playground: cannot listen on ${host}:${port}: ${reason}`);
    process.exit(1);
  }
  const health = await mecha.health();
  const runtime = health.runtimes[0];
  const shown = host === "127.0.0.1" ? "localhost" : host;
  console.log(`Mecha playground on http://${shown}:${server.address().port}`);
  console.log(
    `  backend /api/mecha · python ${runtime?.version ?? "unavailable"} · isolation: ${runtime?.isolation ?? "none"}`,
  );
  if (!isolated) console.log("  page not cross-origin isolated (CROSS_ORIGIN_ISOLATION=off)");
});

// Stops cleanly on Ctrl-C or SIGTERM: ends the runs in progress and removes what they made. A
// second Ctrl-C stops at once; a repeated SIGTERM (a process manager, or pnpm passing the
// group's signal on) only waits for the same clean stop.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (stopping) {
      if (signal === "SIGINT") process.exit(130);
      return;
    }
    stopping = true;
    server.close();
    server.closeAllConnections();
    mecha.close().then(() => process.exit(0));
  });
}
