import { createRouteHandlers } from "@mecha/server/next";

export const { GET, POST, DELETE, OPTIONS, HEAD } = createRouteHandlers({
  basePath: "/api/mecha",
});
export const runtime = "nodejs";
export const dynamic = "force-dynamic";
