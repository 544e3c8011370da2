#!/usr/bin/env node
// Thin launcher so package managers can link the bin before the package is built.
import("../dist/cli.js")
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => process.exit(code))
  .catch((error) => {
    if (error && error.code === "ERR_MODULE_NOT_FOUND") {
      console.error("mecha-server: the package is not built yet; run `pnpm build` first.");
    } else {
      console.error(error);
    }
    process.exit(1);
  });
