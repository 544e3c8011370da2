import type { NextConfig } from "next";

const config: NextConfig = {
  // Loaded by Node from node_modules rather than bundled (a workspace link is bundled anyway:
  // Next.js externalizes only files whose real path is inside node_modules; both work).
  serverExternalPackages: ["@mecha/server"],
  poweredByHeader: false,
};

export default config;
