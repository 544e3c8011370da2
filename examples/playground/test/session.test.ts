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
 * The playground's session mode in Chromium: cells that share one session on the real server
 * (sandboxed Python), a session lost and restarted, and — with the server away — a session in
 * the browser's Python that says where it is.
 */

if (!CHROMIUM) {
  console.warn(
    "playground session tests: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium)",
  );
}

let base = "";
let browser: Browser;
let page: Page;

const cell = (n: number) => page.getByRole("group", { name: `Cell ${n}` });
const sessionState = () => page.getByRole("status", { name: "Session state" });
const output = (n: number) => cell(n).getByRole("log", { name: "Program output" });
const runStatus = (n: number) => cell(n).getByRole("status", { name: "Run status" });
const badge = (n: number) => cell(n).getByRole("status", { name: "Backend" });

/** Runs cell `n` and waits until its run has ended. */
async function run(n: number, timeout = 20_000): Promise<void> {
  await cell(n).getByRole("button", { name: "Run" }).click();
  await expect
    .poll(
      () =>
        cell(n)
          .getByRole("button", { name: /^(Run|Stop)$/ })
          .getAttribute("aria-busy"),
      {
        timeout,
      },
    )
    .toBe("false");
}

async function typeInto(n: number, code: string): Promise<void> {
  await cell(n).locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(code);
}

beforeAll(async () => {
  if (!CHROMIUM) return;
  ensureBuilt();
  base = await startPlayground();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stopProcesses();
});

describe.skipIf(!CHROMIUM)("playground: session mode", () => {
  it("runs cells in one session on the server: later cells use what earlier ones defined", async () => {
    // On a phone's width: the cells stay within it.
    page = await browser.newPage({ viewport: { width: 375, height: 800 } });
    await page.goto(base);
    await page.getByLabel("Mode").selectOption({ label: "Session: cells share variables" });
    expect(new URL(page.url()).searchParams.get("mode")).toBe("session");
    expect(await sessionState().textContent()).toBe("No session yet");

    await run(1);
    expect(await output(1).textContent()).toContain("A circle of radius 2.5 has an area of 19.63");
    await expect
      .poll(() => sessionState().textContent(), { timeout: 15_000 })
      .toBe("Session on the server");
    await run(2);
    // The second cell's final expression, from the first cell's `area`.
    expect(await output(2).textContent()).toContain("39.27");
    expect(await runStatus(2).textContent()).toMatch(/^Finished in /);
    await run(3);
    expect(await output(3).textContent()).toContain("5: 78.54");
    for (const n of [1, 2, 3]) expect(await badge(n).textContent()).toBe("Session on the server");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      375,
    );
    await page.close();
  });

  it("says when the session is lost, refuses to pretend, and restarts empty", async () => {
    page = await browser.newPage();
    await page.goto(`${base}/?mode=session`);
    await run(1);
    await page.getByRole("button", { name: "Add a cell" }).click();
    await typeInto(4, "import os\nos._exit(1)");
    await run(4);
    await expect.poll(() => sessionState().textContent(), { timeout: 15_000 }).toBe("Session lost");
    expect(await page.getByRole("alert").textContent()).toContain(
      "run the cells again from the top",
    );
    expect(await runStatus(4).textContent()).toContain(
      "the session was lost, and its variables with it",
    );
    for (const n of [1, 2, 4]) expect(await badge(n).textContent()).toBe("Session lost");
    await run(2);
    expect(await runStatus(2).textContent()).toMatch(
      /^Could not run the code: The session was lost/,
    );

    await page.getByRole("button", { name: "Restart session" }).click();
    await expect
      .poll(() => sessionState().textContent(), { timeout: 15_000 })
      .toBe("Session on the server");
    expect(await page.getByRole("alert").count()).toBe(0);
    // An empty session: the first cell's variables are gone with the old one.
    await run(2);
    expect(await runStatus(2).textContent()).toBe(
      "Failed on line 2: NameError: name 'area' is not defined",
    );
    await run(1);
    await run(2);
    expect(await output(2).textContent()).toContain("39.27");
    await page.close();
  });

  it("with the server away, keeps the session in the browser's Python and says so", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    page = await browser.newPage();
    await page.goto(`${base}/?mode=session&endpoint=${encodeURIComponent(dead)}`);
    await page
      .getByTestId("backend-location")
      .filter({ hasText: "Server unreachable: programs run in your browser" })
      .waitFor({ timeout: 30_000 });
    // Python loads in the page first: the first cell waits for it.
    await run(1, 90_000);
    expect(await output(1).textContent()).toContain("has an area of 19.63");
    expect(await sessionState().textContent()).toBe("Session in your browser");
    await run(2);
    expect(await output(2).textContent()).toContain("39.27");
    expect(await badge(2).textContent()).toBe("Session in your browser");
    const ranOn = cell(2)
      .locator("dt", { hasText: "Ran on" })
      .locator("xpath=following-sibling::dd");
    expect(await ranOn.textContent()).toBe("browser");
    await page.close();
  });
});
