import type { NextConfig } from "next";

const config: NextConfig = {
  // Never bundle the server package: it finds its Python bootstrap (python/bootstrap.py) next to
  // its own files. This covers any static import of it from node_modules; the route here imports
  // it at run time instead, which also works when the package is a workspace link (Next.js
  // externalizes only files whose real path is inside node_modules).
  serverExternalPackages: ["@mecha/server"],
  poweredByHeader: false,
};

export default config;
