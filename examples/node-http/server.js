// The smallest host: Node's http server and Mecha's handler. POST /runs, GET /health, …
import { createServer } from "node:http";
import { createHandler } from "@mecha/server";
import { toNodeListener } from "@mecha/server/node";

const handler = createHandler({ cors: "*" });
const server = createServer(toNodeListener(handler));

server.listen(Number(process.env.PORT ?? 5000), "127.0.0.1", () => {
  console.log(`Mecha listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => handler.close().then(() => server.close()));
process.on("SIGINT", () => handler.close().then(() => server.close()));
