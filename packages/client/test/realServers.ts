import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHandler } from "@mecha/server";
import { toNodeListener } from "@mecha/server/node";
import { afterEach } from "vitest";
import { type ClientOptions, createClient, type MechaClient } from "../src/index";

export interface RunningServer {
  url: string;
  port: number;
  /** Like a crash: connections reset, the port stops answering, running programs end. */
  kill(): Promise<void>;
}

/**
 * Real @mecha/server instances on real ports, running real Python, and clients of them: both
 * ended after each test of the file that calls this.
 */
export function useRealServers() {
  const servers: RunningServer[] = [];
  const clients: MechaClient[] = [];

  async function startServer(
    port = 0,
    options: Parameters<typeof createHandler>[0] = {},
  ): Promise<RunningServer> {
    const handler = createHandler({ logger: false, ...options });
    const server = http.createServer(toNodeListener(handler));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    const actual = (server.address() as AddressInfo).port;
    let killed = false;
    const running: RunningServer = {
      url: `http://127.0.0.1:${actual}`,
      port: actual,
      async kill() {
        if (killed) return;
        killed = true;
        server.closeAllConnections();
        await Promise.all([
          new Promise<void>((resolve) => server.close(() => resolve())),
          handler.close(),
        ]);
      },
    };
    servers.push(running);
    return running;
  }

  function client(url: string, options: Partial<ClientOptions> = {}): MechaClient {
    const created = createClient({
      baseUrl: url,
      timeoutMs: 2000,
      retry: { baseMs: 20, maxMs: 2000 },
      health: { intervalMs: 1000, offlineMinMs: 50, offlineMaxMs: 200 },
      onWarning: () => {},
      ...options,
    });
    clients.push(created);
    return created;
  }

  afterEach(async () => {
    for (const created of clients.splice(0)) created.dispose();
    await Promise.all(servers.splice(0).map((server) => server.kill()));
  });

  return { startServer, client };
}
