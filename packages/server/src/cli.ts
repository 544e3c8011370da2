import { createServer, type Server } from "node:http";
import { parseArgs } from "node:util";
import { createHandler } from "./createHandler";
import { toNodeListener } from "./node";
import type { HandlerOptions } from "./options";
import { VERSION } from "./version";

const HELP = `mecha-server ${VERSION} — run Python over HTTP (Mecha protocol v1)

Usage: mecha-server [options]

Options:
  --host <host>          Address to listen on (default 127.0.0.1)
  --port <port>          Port (default $PORT or 5000; 0 picks a free port)
  --sandbox <mode>       auto | required | none (default auto)
  --startup <mode>       zygote | spawn: how sandboxed runs start (default zygote)
  --python <path>        Python interpreter (default: the system python3)
  --cors-origin <origin> Allow a browser origin (repeatable; "*" for any).
                         Default: localhost, 127.0.0.1 and [::1] on any port
  --allowed-host <name>  Accept this Host header too (repeatable; "*" disables the check)
  --token <token>        Require "Authorization: Bearer <token>" (or set MECHA_TOKEN)
  --max-concurrent <n>   Runs at once (default: 2 × CPU cores, at least 4)
  --max-queued <n>       Runs waiting for a slot (default: 4 × max-concurrent)
  --timeout <ms>         Default wall-clock limit per run (default 10000)
  --quiet                Log only warnings and errors
  -h, --help             Show this help
  -v, --version          Show the version
`;

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Host name of a Host header, without its port. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  return value.split(":")[0] ?? "";
}

class UsageError extends Error {}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return number;
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): string {
  if (error.code === "EADDRINUSE") {
    return `Port ${port} on ${host} is already in use. Stop the other server, or choose another port with --port <n> (--port 0 picks a free one).`;
  }
  if (error.code === "EACCES" || error.code === "EPERM") {
    return `Permission denied to listen on ${host}:${port}. Ports below 1024 need elevated privileges; choose a port ≥ 1024 with --port.`;
  }
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") {
    return `Cannot listen on ${host}: no such local address. Use --host 127.0.0.1 or --host 0.0.0.0.`;
  }
  return `Cannot listen on ${host}:${port}: ${error.message}`;
}

/** Runs the CLI; resolves with the process exit code once the server has stopped. */
export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        sandbox: { type: "string" },
        startup: { type: "string" },
        python: { type: "string" },
        "cors-origin": { type: "string", multiple: true },
        "allowed-host": { type: "string", multiple: true },
        token: { type: "string" },
        "max-concurrent": { type: "string" },
        "max-queued": { type: "string" },
        timeout: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    }).values;
  }
  let host: string;
  let port: number;
  let options: HandlerOptions;
  let allowedHosts: Set<string> | null;
  try {
    values = parse();
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values.version) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    host = values.host ?? "127.0.0.1";
    port = integer("port", values.port ?? process.env.PORT, 0) ?? 5000;
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const sandbox = values.sandbox ?? "auto";
    if (sandbox !== "auto" && sandbox !== "required" && sandbox !== "none") {
      throw new UsageError(
        `--sandbox must be auto, required or none, got ${JSON.stringify(sandbox)}`,
      );
    }
    const startup = values.startup ?? "zygote";
    if (startup !== "spawn" && startup !== "zygote") {
      throw new UsageError(`--startup must be spawn or zygote, got ${JSON.stringify(startup)}`);
    }
    const origins = values["cors-origin"];
    const token = values.token ?? process.env.MECHA_TOKEN;
    const extraHosts = values["allowed-host"] ?? [];
    allowedHosts = extraHosts.includes("*")
      ? null
      : new Set([
          ...LOCAL_HOSTS,
          ...extraHosts.map((name) => hostName(name)),
          ...(host === "0.0.0.0" || host === "::"
            ? []
            : [hostName(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host)]),
        ]);
    const quiet = values.quiet ?? false;
    const maxConcurrent = integer("max-concurrent", values["max-concurrent"], 1);
    const maxQueued = integer("max-queued", values["max-queued"], 0);
    const timeout = integer("timeout", values.timeout, 1);
    options = {
      sandbox,
      startup,
      ...(values.python ? { python: values.python } : {}),
      ...(maxConcurrent ? { maxConcurrent } : {}),
      ...(maxQueued !== undefined ? { maxQueued } : {}),
      ...(timeout ? { defaultLimits: { timeoutMs: timeout } } : {}),
      cors: origins?.includes("*")
        ? "*"
        : origins
          ? origins
          : (origin: string) => LOCAL_ORIGIN.test(origin),
      logger: quiet ? { ...console, info() {}, debug() {} } : console,
      authorize: (request) => {
        if (allowedHosts) {
          const name = hostName(request.headers.get("host") ?? "");
          if (!allowedHosts.has(name)) {
            return {
              status: 403,
              detail: `Host ${JSON.stringify(name)} is not allowed; start mecha-server with --allowed-host ${name || "<name>"} to accept it.`,
            };
          }
        }
        if (token && request.method !== "OPTIONS") {
          const header = request.headers.get("authorization") ?? "";
          if (header !== `Bearer ${token}`) {
            return {
              status: 401,
              detail: 'Send "Authorization: Bearer <token>" with the server\'s token.',
            };
          }
        }
        return true;
      },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`mecha-server: ${message}\nRun mecha-server --help for usage.\n`);
    return 2;
  }

  const handler = createHandler(options);
  let health: Awaited<ReturnType<typeof handler.health>>;
  try {
    await handler.runtime.info();
    health = await handler.health();
  } catch (error) {
    process.stderr.write(`mecha-server: ${(error as Error).message}\n`);
    await handler.close().catch(() => {});
    return 1;
  }

  const server: Server = createServer(toNodeListener(handler));
  // Streams stay open while programs wait for input; do not cut them at the default 5 min.
  server.requestTimeout = 0;
  const listening = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once("error", (error) => resolve(error as NodeJS.ErrnoException));
    server.listen(port, host, () => resolve(null));
  });
  if (listening) {
    process.stderr.write(`mecha-server: ${listenError(listening, host, port)}\n`);
    await handler.close().catch(() => {});
    return 1;
  }
  const address = server.address();
  const boundPort = typeof address === "object" && address ? address.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  const runtime = health.runtimes[0];
  const isolation = runtime?.isolation ?? "unavailable";
  process.stdout.write(
    `mecha-server ${VERSION} listening on http://${shownHost}:${boundPort}\n` +
      `  python ${runtime?.version ?? "?"} · isolation: ${isolation}${isolation === "process" ? " (no sandbox: do not run untrusted code)" : ""} · ${health.capacity.maxConcurrent} concurrent runs\n`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`mecha-server: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(`mecha-server: ${signal} received, ending runs and shutting down\n`);
      server.close();
      server.closeAllConnections?.();
      void handler.close().then(() => resolve(0));
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
