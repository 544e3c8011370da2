import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  ensureBuilt,
  freePort,
  launchChromium,
  startPlayground,
  stopProcesses,
} from "./harness";

/**
 * The playground as a new user meets it: real Chromium, the real Express app, real Python.
 */

if (!CHROMIUM)
  console.warn(
    "playground e2e: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium)",
  );

let base = "";
let browser: Browser;
let page: Page;

describe.skipIf(!CHROMIUM)("playground in Chromium", () => {
  beforeAll(async () => {
    ensureBuilt();
    base = await startPlayground();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopProcesses();
  });

  beforeEach(async () => {
    page = await browser.newPage();
  });

  const log = () => page.getByRole("log");
  const runButton = () => page.getByRole("button", { name: /^(Run|Stop)$/ });

  async function chooseExample(title: string) {
    await page.getByLabel("Example").selectOption({ label: title });
  }

  it("shows the server is connected and runs a program the user types", async () => {
    await page.goto(base);
    await expect
      .poll(() => page.getByTestId("backend-location").textContent(), { timeout: 15_000 })
      .toContain("programs run on the server");
    const editor = page.locator(".cm-content");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.type("total = sum(range(1, 101))\nprint('total is', total)");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain("total is 5050");
    const ranOn = page.locator("dt", { hasText: "Ran on" }).locator("xpath=following-sibling::dd");
    await expect.poll(() => ranOn.textContent(), { timeout: 15_000 }).toBe("server");
  });

  it("answers input() prompts in the terminal with the keyboard", async () => {
    await page.goto(base);
    await chooseExample("Ask for input");
    await runButton().click();
    const name = page.getByRole("textbox", { name: "What is your name?" });
    await name.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => name.evaluate((el) => el === document.activeElement), { timeout: 15_000 })
      .toBe(true);
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    const age = page.getByRole("textbox", { name: "How old are you?" });
    await age.waitFor();
    await age.fill("30");
    await age.press("Enter");
    await expect
      .poll(() => log().textContent(), { timeout: 15_000 })
      .toContain("Hello, Ada! In ten years you will be 40.");
  });

  it("answers a program reading sys.stdin line by line, and Ctrl+D ends its input", async () => {
    await page.goto(base);
    const editor = page.locator(".cm-content");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.type(
      "import sys\nfor line in sys.stdin: print('got', line.strip(), flush=True)",
    );
    await page.keyboard.press("Control+Enter");
    // No input() and so no prompt: the line is there because the program waits in a read.
    const line = page.getByRole("textbox", { name: "Input for the program" });
    for (const word of ["alpha", "beta"]) {
      await line.fill(word, { timeout: 15_000 });
      await line.press("Enter");
      await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain(`got ${word}`);
    }
    await line.press("Control+D", { timeout: 15_000 });
    await expect
      .poll(() => page.getByRole("status", { name: "Run status" }).textContent(), {
        timeout: 15_000,
      })
      .toMatch(/^Finished in /);
    expect(await line.count()).toBe(0);
  });

  it("draws the plot example as an image and the DataFrame example as a table", async () => {
    await page.goto(base);
    await chooseExample("Plot (matplotlib)");
    await runButton().click();
    const figure = log().getByRole("img", { name: "<Figure size 640x480 with 1 Axes>" });
    await figure.waitFor({ timeout: 30_000 });
    // A PNG the browser decoded, scaled to the terminal's width.
    expect(await figure.evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(
      300,
    );
    const [shown, terminal] = await Promise.all([figure.boundingBox(), log().boundingBox()]);
    expect(shown!.width).toBeLessThanOrEqual(terminal!.width);

    await chooseExample("DataFrame (pandas)");
    await runButton().click();
    await expect.poll(() => log().textContent(), { timeout: 30_000 }).toContain("total revenue:");
    const table = log().getByRole("table");
    await expect.poll(() => table.textContent(), { timeout: 15_000 }).toMatch(/Pune.*143.*858\.0/s);
    // In program order: the table first, then the printed total.
    const order = await log().evaluate((element) =>
      [...element.querySelectorAll("[data-stream]")].map((row) => row.getAttribute("data-stream")),
    );
    expect(order.indexOf("display")).toBeLessThan(order.lastIndexOf("stdout"));
  });

  it("stops a program that runs forever", async () => {
    await page.goto(base);
    await chooseExample("Runs forever (try Stop)");
    await runButton().click();
    await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain("tick 1");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect
      .poll(() => page.getByRole("status", { name: "Run status" }).textContent(), {
        timeout: 10_000,
      })
      .toMatch(/cancel|stopp/i);
    await expect(runButton().textContent()).resolves.toBe("Run");
  });

  it("says so when the backend is unreachable, and runs the code in the browser instead", async () => {
    const dead = await freePort();
    await page.goto(`${base}/?endpoint=${encodeURIComponent(`http://127.0.0.1:${dead}`)}`);
    await expect
      .poll(() => page.getByTestId("backend-location").textContent(), { timeout: 20_000 })
      .toMatch(/Server unreachable/);
    await page.locator(".cm-content").click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.type('print("Unicode works too: héllo, 你好, 🐍")');
    await runButton().click();
    await expect
      .poll(() => page.getByRole("group", { name: "Code runner" }).textContent(), {
        timeout: 20_000,
      })
      .toMatch(/in your browser/i);
    // The fallback is real Python in the page (Pyodide), and the result says where it ran.
    await expect
      .poll(() => log().textContent(), { timeout: 30_000 })
      .toContain("Unicode works too: héllo, 你好, 🐍");
    const ranOn = page.locator("dt", { hasText: "Ran on" }).locator("xpath=following-sibling::dd");
    await expect.poll(() => ranOn.textContent(), { timeout: 10_000 }).toBe("browser");
  });
});
