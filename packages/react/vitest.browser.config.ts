import { playwright } from "@vitest/browser-playwright";
import { defineProject } from "vitest/config";

/**
 * Real-browser tests (layout, scrolling, typing into the editor) in Chromium. Browsers cannot be
 * downloaded here: this uses the system's Chromium (`apt-get install chromium`), or CHROMIUM_PATH.
 */
export default defineProject({
  resolve: { conditions: ["@mecha/source"] },
  test: {
    name: "react-browser",
    include: ["test/browser/**/*.browser.test.tsx"],
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
      }),
      instances: [{ browser: "chromium" }],
    },
  },
});
