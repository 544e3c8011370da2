import { it } from "vitest";

// Loaded only when vitest.config.ts finds no Chromium: the stories cannot run, and say so.
it.skip(`stories run in Chromium, and there is none at ${process.env.CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`, () => {});
