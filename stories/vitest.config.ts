import { accessSync, constants, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { storybookTest } from "@storybook/addon-vitest/vitest-plugin";
import { playwright } from "@vitest/browser-playwright";
import type { Plugin } from "vite";
import { defineProject } from "vitest/config";

/**
 * Every story is a test: it must render without errors, and its play function must pass. The
 * stories run in Chromium (the system's `chromium`, or CHROMIUM_PATH: browsers cannot be
 * downloaded here), with msw answering in place of a Mecha server, as in Storybook itself.
 */
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Serves msw's service worker straight from the installed `msw` package, so the worker always
 * matches the library and nothing has to be generated into `public/` before the tests.
 */
function mswWorker(): Plugin {
  const require = createRequire(import.meta.url);
  const script = readFileSync(require.resolve("msw/mockServiceWorker.js"), "utf8");
  return {
    name: "mecha:msw-worker",
    configureServer(server) {
      server.middlewares.use("/mockServiceWorker.js", (_request, response) => {
        response.setHeader("content-type", "text/javascript");
        response.setHeader("cache-control", "no-store");
        response.end(script);
      });
    },
  };
}

function storiesInChromium() {
  return defineProject({
    plugins: [
      // Before Storybook's static-dir server, so a stale `public/mockServiceWorker.js` never wins.
      mswWorker(),
      storybookTest({ configDir: fileURLToPath(new URL("./.storybook", import.meta.url)) }),
    ],
    test: {
      name: "stories",
      browser: {
        enabled: true,
        headless: true,
        provider: playwright({
          launchOptions: {
            executablePath: chromium,
            args: [
              "--no-sandbox",
              "--disable-gpu",
              "--disable-background-networking",
              "--disable-component-update",
              "--disable-sync",
              "--no-first-run",
            ],
          },
        }),
        instances: [{ browser: "chromium" }],
      },
    },
  });
}

/** Without Chromium the project reports one skipped test that says why, never a silent pass. */
function missingChromium() {
  console.warn(
    `[stories] Skipping the story tests: no Chromium at ${chromium}. Install it (apt-get install chromium) or set CHROMIUM_PATH.`,
  );
  return defineProject({
    test: {
      name: "stories",
      environment: "node",
      include: ["test/missingChromium.test.ts"],
      env: { CHROMIUM_PATH: chromium },
    },
  });
}

export default isExecutable(chromium) ? storiesInChromium() : missingChromium();
