import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  ensureBuilt,
  freePort,
  launchChromium,
  startPlayground,
  stopProcesses,
} from "./harness";

/**
 * A new user's first hour with the playground, in real Chromium against the real Express app:
 * labels that never claim a server that was not reached (sampled from the first frame), a
 * layout that holds at 375 and 1280 px with a 300-character line and a traceback, code and
 * output read from the left in a page that centres text, and limits named with their size.
 */

if (!CHROMIUM) {
  console.warn(
    "playground first-hour tests: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium)",
  );
}

let browser: Browser;

/**
 * Records every text the backend labels show, from before the page's first script runs: the
 * banner's headline and the CodeRunner's badge, each time either changes.
 */
const RECORD_LABELS = () => {
  const seen: string[] = [];
  (window as unknown as { labels: string[] }).labels = seen;
  const read = () => {
    for (const selector of ['[data-testid="backend-location"]', ".mecha-status"]) {
      const text = document.querySelector(selector)?.textContent;
      if (text && seen.at(-1) !== text && !seen.includes(text)) seen.push(text);
    }
  };
  new MutationObserver(read).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
  });
};

const labels = (page: Page) =>
  page.evaluate(() => (window as unknown as { labels: string[] }).labels);

/** The width of the page's content, beyond the viewport when something pushes it wider. */
const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

async function replaceCode(page: Page, code: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
}

const runStatus = (page: Page) => page.getByRole("status", { name: "Run status" });

describe.skipIf(!CHROMIUM)("the playground in a new user's first hour", () => {
  let base = "";
  let plainBase = "";

  beforeAll(async () => {
    ensureBuilt();
    [base, plainBase] = await Promise.all([
      startPlayground(),
      // Not cross-origin isolated, like a stock Vite app: there a browser can tell CORS apart.
      startPlayground({ CROSS_ORIGIN_ISOLATION: "off" }),
    ]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopProcesses();
  });

  it("never says connected to a dead endpoint, from the first frame", async () => {
    const page = await browser.newPage();
    await page.addInitScript(RECORD_LABELS);
    const dead = await freePort();
    await page.goto(`${base}/?endpoint=${encodeURIComponent(`http://127.0.0.1:${dead}`)}`);
    await page
      .getByTestId("backend-location")
      .filter({ hasText: "Server unreachable" })
      .waitFor({ timeout: 30_000 });
    const seen = await labels(page);
    expect(seen.slice(0, 2).sort()).toEqual(["Checking server…", "Checking the server…"]);
    expect(seen.join("\n")).not.toMatch(/connected|runs on the server/i);
    expect(await page.getByTestId("backend-error").getAttribute("data-kind")).toBe("unreachable");
    await page.close();
  });

  it("never says connected after Connect to a dead URL", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page
      .getByTestId("backend-location")
      .filter({ hasText: "Connected: programs run on the server" })
      .waitFor();
    await page.getByLabel("Backend URL").fill(`http://127.0.0.1:${await freePort()}`);
    // Start recording and press Connect in one step, so only what follows the click is seen.
    await page.evaluate(
      `(${RECORD_LABELS})(); document.querySelector(".pg-endpoint button[type=submit]").click();`,
    );
    await page
      .getByTestId("backend-location")
      .filter({ hasText: "Server unreachable" })
      .waitFor({ timeout: 30_000 });
    const seen = await labels(page);
    expect(seen).toContain("Checking the server…");
    expect(seen.join("\n")).not.toMatch(/connected|runs on the server/i);
    await page.close();
  });

  it("tells a CORS refusal from a server that is not there", async () => {
    // A server that answers /health but sends no CORS headers: the browser hides its answer.
    const noCors: Server = createServer((_request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ status: "ok" }));
    });
    await new Promise<void>((resolve) => noCors.listen(0, "127.0.0.1", resolve));
    const port = (noCors.address() as { port: number }).port;
    const page = await browser.newPage();
    try {
      for (const [endpoint, kind] of [
        [`http://127.0.0.1:${port}`, "cors"],
        [`http://127.0.0.1:${await freePort()}`, "unreachable"],
      ] as const) {
        await page.goto(`${plainBase}/?endpoint=${encodeURIComponent(endpoint)}`);
        const error = page.getByTestId("backend-error");
        await error.waitFor();
        expect(await error.getAttribute("data-kind")).toBe(kind);
        if (kind === "cors") {
          expect(await error.textContent()).toContain(
            `do not allow this page's origin, ${plainBase}`,
          );
        }
        expect(await page.getByTestId("backend-location").textContent()).not.toMatch(/Connected/);
      }
    } finally {
      await page.close();
      await new Promise((resolve) => noCors.close(resolve));
    }
  });

  it.each([375, 1280])(
    "keeps the page within %i px with a 300-character line and a traceback",
    async (width) => {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      await page.goto(base);
      await page.locator(".cm-content").waitFor();
      await page
        .getByTestId("backend-location")
        .filter({ hasText: "programs run on the server" })
        .waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(width);
      await replaceCode(
        page,
        `print("${"b".repeat(300)}")\ndef f():\n    raise ValueError("${"c".repeat(300)}")\nf()\n`,
      );
      expect(await pageWidth(page)).toBeLessThanOrEqual(width);
      await page.getByRole("button", { name: "Run" }).click();
      await runStatus(page).filter({ hasText: "Failed on line 3: ValueError" }).waitFor();
      await page.locator(".mecha-editor-errorMessage").waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(width);
      const run = await page.getByRole("button", { name: "Run" }).boundingBox();
      expect(run!.x + run!.width).toBeLessThanOrEqual(width);
      await page.close();
    },
  );

  it("reads code and output from the left in a page that centres its text", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    // What a stock create-vite app's stylesheet does.
    await page.addStyleTag({ content: "#root, main { text-align: center; }" });
    await replaceCode(page, 'print("hi")\n');
    await page.getByRole("button", { name: "Run" }).click();
    await runStatus(page).filter({ hasText: "Finished" }).waitFor();
    const indents = await page.evaluate(() => {
      const indent = (element: Element | undefined) => {
        const text = element && document.createTreeWalker(element, NodeFilter.SHOW_TEXT).nextNode();
        if (!text) return null;
        const range = document.createRange();
        range.selectNodeContents(text);
        return range.getBoundingClientRect().left - element.getBoundingClientRect().left;
      };
      const row = [...document.querySelectorAll('[role="log"] [data-stream]')].find(
        (line) => line.textContent === "hi",
      );
      return { output: indent(row), code: indent(document.querySelector(".cm-line") ?? undefined) };
    });
    expect(indents.output).not.toBeNull();
    expect(indents.output!).toBeLessThan(2);
    expect(indents.code!).toBeLessThan(8);
    await page.close();
  });

  it("tells a keyboard user how to leave the editor, and Run and Stop keep their names", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByLabel("Example").selectOption({ label: "Runs forever (try Stop)" });
    const code = page.getByRole("textbox", { name: "Python code" });
    await page.locator(".cm-content").waitFor();
    await code.focus();
    const hint = page.getByText("Esc then Tab leaves the editor · Ctrl+Enter runs");
    expect(await hint.isVisible()).toBe(true);
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    expect(await code.evaluate((element) => element.contains(document.activeElement))).toBe(false);
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const stop = page.getByRole("button", { name: "Stop", exact: true });
    await stop.waitFor();
    expect(await stop.getAttribute("aria-busy")).toBe("true");
    await stop.click();
    await page.getByRole("button", { name: "Run", exact: true }).waitFor();
    await page.close();
  });

  it("names the output limit and its size, and marks the cut in the terminal", async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.getByLabel("Example").selectOption({ label: "Too much output" });
    // The menu comes from the server's GET /runtimes: its default (1 MiB) first, then the usual
    // sizes up to its maximum (10 MiB), as the playground's server is configured.
    await expect
      .poll(() => page.getByLabel("Output limit").locator("option").allTextContents(), {
        timeout: 15_000,
      })
      .toEqual(["1 MiB (server default)", "64 KiB", "256 KiB", "4 MiB", "10 MiB (server maximum)"]);
    await page.getByLabel("Output limit").selectOption({ label: "64 KiB" });
    await page.getByRole("button", { name: "Run" }).click();
    await runStatus(page).filter({ hasText: "Stopped" }).waitFor({ timeout: 20_000 });
    expect(await runStatus(page).textContent()).toBe("Stopped: output limit of 64 KiB reached");
    const rows = await page.getByRole("log").locator("[data-stream]").allTextContents();
    expect(rows.at(-1)).toBe("\u2702 Output cut here: output limit of 64 KiB reached");
    await page.close();
  });

  it("offers the usual sizes, which the server clamps, when it does not list its limits", async () => {
    const page = await browser.newPage();
    // An older server: no GET /runtimes.
    await page.route("**/api/mecha/runtimes", (route) =>
      route.fulfill({ status: 404, json: { status: 404, title: "Not Found" } }),
    );
    await page.goto(base);
    await expect
      .poll(() => page.getByLabel("Output limit").locator("option").allTextContents(), {
        timeout: 15_000,
      })
      .toEqual(["server default", "64 KiB", "256 KiB", "1 MiB", "4 MiB", "16 MiB", "64 MiB"]);
    expect(await page.getByLabel("Time limit").locator("option").allTextContents()).toEqual([
      "server default",
      "2 s",
      "5 s",
      "10 s",
      "30 s",
      "60 s",
    ]);
    await page.close();
  });

  it("offers output limits up to the server's maximum when GET /runtimes says it", async () => {
    const page = await browser.newPage();
    const limits = {
      defaults: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
      maxima: { timeoutMs: 30_000, memoryMb: 1024, outputBytes: 4 << 20 },
    };
    await page.route("**/api/mecha/runtimes", (route) =>
      route.fulfill({
        json: [
          { language: "python", version: "3.11.2", isolation: "sandbox", packages: [], limits },
        ],
      }),
    );
    await page.goto(base);
    await expect
      .poll(() => page.getByLabel("Output limit").locator("option").allTextContents(), {
        timeout: 15_000,
      })
      .toEqual(["1 MiB (server default)", "64 KiB", "256 KiB", "4 MiB (server maximum)"]);
    expect(await page.getByLabel("Time limit").locator("option").allTextContents()).toEqual([
      "10 s (server default)",
      "2 s",
      "5 s",
      "30 s (server maximum)",
    ]);
    await page.close();
  });
});
