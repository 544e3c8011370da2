import type { NextRouteHandlers } from "@mecha/server/next";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Node loads @mecha/server from node_modules at run time; the bundler leaves it alone, since
// the package finds its Python bootstrap (python/bootstrap.py) relative to its own files.
const loadServer = () =>
  import(/* webpackIgnore: true */ /* turbopackIgnore: true */ "@mecha/server/next");

// One handler per server process, created on the first request (`next build` imports this
// module and must not start a Python runtime) and kept on globalThis, so that a re-evaluated
// module (dev reloads) shares it.
const KEY = Symbol.for("mecha.example-next.routes");
const store = globalThis as typeof globalThis & { [KEY]?: Promise<NextRouteHandlers> };

function routes(): Promise<NextRouteHandlers> {
  store[KEY] ??= loadServer().then(({ createRouteHandlers }) => {
    const created = createRouteHandlers({ basePath: "/api/mecha" });
    closeOnExit(created);
    return created;
  });
  return store[KEY];
}

function closeOnExit({ handler }: NextRouteHandlers): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      // `next start` has its own listener, which waits for open requests and exits; ending the
      // running programs lets their streams finish. Without one, exit once they have ended.
      const alone = process.listenerCount(signal) === 0;
      void handler.close().finally(() => {
        if (alone) process.exit(signal === "SIGINT" ? 130 : 143);
      });
    });
  }
  // On any other exit, close() still signals the running programs' process groups at once.
  process.once("exit", () => void handler.close());
}

export async function GET(request: Request): Promise<Response> {
  return (await routes()).GET(request);
}

export async function HEAD(request: Request): Promise<Response> {
  return (await routes()).HEAD(request);
}

export async function POST(request: Request): Promise<Response> {
  return (await routes()).POST(request);
}

export async function OPTIONS(request: Request): Promise<Response> {
  return (await routes()).OPTIONS(request);
}
