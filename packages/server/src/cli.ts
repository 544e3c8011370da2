import { createServer, type Server } from "node:http";
import { HELP, parseCommand } from "./cliArguments";
import { createHandler } from "./createHandler";
import { toNodeListener } from "./node";
import { redactUrl } from "./queue/redisConnections";
import { shutdownSignals } from "./shutdownSignals";
import { VERSION } from "./version";

export { hostName } from "./cliArguments";

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
  let command: ReturnType<typeof parseCommand>;
  try {
    command = parseCommand(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`mecha-server: ${message}\nRun mecha-server --help for usage.\n`);
    return 2;
  }
  if (command.kind === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (command.kind === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const { host, port, listen, options, warnings } = command;
  for (const warning of warnings) process.stderr.write(`${warning}\n`);

  let handler: ReturnType<typeof createHandler>;
  let health: Awaited<ReturnType<typeof handler.health>>;
  try {
    handler = createHandler(options);
  } catch (error) {
    process.stderr.write(`mecha-server: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    await handler.ready();
    health = await handler.health();
  } catch (error) {
    process.stderr.write(`mecha-server: ${(error as Error).message}\n`);
    await handler.close().catch(() => {});
    return 1;
  }

  const role = options.queue?.role;
  const runtime = health.runtimes[0];
  const isolation = runtime?.isolation ?? "unavailable";
  // What the runtime's start-up warning says in full (docs/security.md, "Without the sandbox").
  const unsandboxed =
    " (no sandbox: a run reaches the network, every world-readable file and every process of the host; do not run untrusted code)";
  const runs =
    role === "api"
      ? `runs go to runners over Redis (${health.capacity.runners ?? 0} connected now)`
      : `python ${runtime?.version ?? "?"} · isolation: ${isolation}${isolation === "process" ? unsandboxed : ""} · ${health.capacity.maxConcurrent} concurrent runs`;
  const redis = options.queue ? ` · ${role} on Redis ${redactUrl(options.queue.redis)}` : "";

  let server: Server | null = null;
  if (listen) {
    server = createServer(toNodeListener(handler));
    // Streams stay open while programs wait for input; do not cut them at the default 5 min.
    server.requestTimeout = 0;
    const listening = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server!.once("error", (error) => resolve(error as NodeJS.ErrnoException));
      server!.listen(port, host, () => resolve(null));
    });
    if (listening) {
      process.stderr.write(`mecha-server: ${listenError(listening, host, port)}\n`);
      await handler.close().catch(() => {});
      return 1;
    }
    const address = server.address();
    const boundPort = typeof address === "object" && address ? address.port : port;
    const shownHost = host.includes(":") ? `[${host}]` : host;
    const origin = `http://${shownHost}:${boundPort}`;
    const mcp = options.mcp && role !== "runner" ? `  MCP: ${origin}/mcp\n` : "";
    process.stdout.write(
      `mecha-server ${VERSION} listening on ${origin}${role === "runner" ? " (/health and /metrics)" : ""}\n  ${runs}${redis}\n${mcp}`,
    );
  } else {
    process.stdout.write(`mecha-server ${VERSION} runner ready\n  ${runs}${redis}\n`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`mecha-server: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(
        role === "runner"
          ? `mecha-server: ${signal} received, finishing the runs held here (taking no new ones) and leaving\n`
          : `mecha-server: ${signal} received, ending runs and shutting down\n`,
      );
      server?.close();
      server?.closeAllConnections?.();
      void handler.close().then(() => resolve(0));
    };
    for (const signal of shutdownSignals()) process.once(signal, () => stop(signal));
  });
}
