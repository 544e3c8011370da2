import packageJson from "../package.json" with { type: "json" };

/** This package's version, as `GET /health` reports it (inlined at build: no file is read). */
export const VERSION: string = packageJson.version;
