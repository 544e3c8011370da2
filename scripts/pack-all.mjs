#!/usr/bin/env node
// Packs every public package (built first) into one folder, as pnpm would publish them
// (`workspace:` ranges become versions), and prints the npm install lines that use them. Until
// the packages are on npm, this is how another project installs them:
//
//   pnpm pack:all [folder]            # default: ./packed
//   npm install <the tarballs it lists>
//
// A package's sibling dependencies (@mecha/protocol under @mecha/server, …) must be in the same
// npm install command, which the printed lines take care of.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const destination = resolve(process.argv[2] ?? join(root, "packed"));
const PACKAGES = ["protocol", "server", "client", "react"];

const missing = PACKAGES.filter((name) => {
  try {
    return readdirSync(join(root, "packages", name, "dist")).length === 0;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(`pack:all: build first (pnpm build); not built: ${missing.join(", ")}`);
  process.exit(1);
}

rmSync(destination, { recursive: true, force: true });
mkdirSync(destination, { recursive: true });
const tarballs = {};
for (const name of PACKAGES) {
  const dir = join(root, "packages", name);
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  execFileSync("pnpm", ["pack", "--pack-destination", destination], { cwd: dir, stdio: "ignore" });
  tarballs[name] = join(destination, `mecha-${name}-${version}.tgz`);
}

const line = (names) => `npm install ${names.map((name) => tarballs[name]).join(" ")}`;
console.log(`Packed ${PACKAGES.map((name) => `@mecha/${name}`).join(", ")} into ${destination}

In your app, install what it uses (siblings in the same command):
  server (Express, Next.js, mecha-server):  ${line(["protocol", "server"])}
  browser or Node client:                   ${line(["protocol", "client"])}
  React components:                         ${line(["protocol", "client", "react"])}
  everything:                               ${line(PACKAGES)}`);
