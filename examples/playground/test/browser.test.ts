import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM,
  ensureBuilt,
  freePort,
  launchChromium,
  startPlayground,
  startProcess,
  stopProcesses,
  waitForOutput,
} from "./harness";

/**
 * Real Python in the browser when the server is away: the playground pointed at a dead
 * backend runs programs with Pyodide in a Web Worker, says so, keeps time limits and Stop
 * working, and goes back to the server once it is reachable again; on a page that is not
 * cross-origin isolated it says why input() cannot wait and stops programs by replacing the
 * worker. Real Chromium, real Pyodide (served by the playground from the pyodide npm package),
 * a real mecha-server at the end.
 */

const root = fileURLToPath(new URL("../../..", import.meta.url));
if (!CHROMIUM) {
  console.warn(
    "playground browser-Python tests: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium)",
  );
}

let browser: Browser;
let page: Page;

/** Opens the playground pointed at a port where nothing listens. */
async function openWithDeadBackend(base: string, deadPort: number): Promise<void> {
  await page?.close();
  page = await browser.newPage();
  await page.goto(`${base}/?endpoint=${encodeURIComponent(`http://127.0.0.1:${deadPort}`)}`);
  await page
    .getByTestId("backend-location")
    .filter({ hasText: "Server unreachable: programs run in your browser" })
    .waitFor({ timeout: 30_000 });
}

const log = () => page.getByRole("log");
const runButton = () => page.getByRole("button", { name: /^(Run|Stop)$/ });
const runStatus = () => page.getByRole("status", { name: "Run status" });
const backendBadge = () => page.getByRole("status", { name: "Backend" });
const ranOn = () =>
  page.locator("dt", { hasText: "Ran on" }).locator("xpath=following-sibling::dd");

async function typeCode(code: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type(code);
}

/**
 * Clears the terminal, clicks Run, and waits until the output shows `expected` and the run
 * has ended; returns how long that took, as the user waited.
 */
async function runAndWait(expected: string, timeout = 60_000): Promise<number> {
  await page.getByRole("button", { name: "Clear" }).click();
  const started = Date.now();
  await runButton().click();
  await expect.poll(() => log().textContent(), { timeout }).toContain(expected);
  await expect.poll(() => runButton().textContent(), { timeout }).toBe("Run");
  return Date.now() - started;
}

beforeAll(async () => {
  if (!CHROMIUM) return;
  ensureBuilt();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stopProcesses();
});

describe.skipIf(!CHROMIUM)("playground: Python in the browser when the server is away", () => {
  let deadPort = 0;

  beforeAll(async () => {
    const base = await startPlayground();
    deadPort = await freePort();
    // One page throughout: Python loads once, as it would for a user.
    await openWithDeadBackend(base, deadPort);
  });

  it("runs a real computation in the browser and shows that it ran there", async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    await typeCode("print(sum(i*i for i in range(1000)))");
    const firstMs = await runAndWait("332833500");
    expect(await ranOn().textContent()).toBe("browser");
    expect(await backendBadge().textContent()).toBe("Runs in your browser");
    expect(await runStatus().textContent()).toMatch(/^Finished in/);
    await expect
      .poll(() => page.locator(".pg-status").textContent(), { timeout: 10_000 })
      .toMatch(/Python 3\.\d+\.\d+ \(Pyodide \d+\.\d+\.\d+, loaded in [\d.]+ s\) in your browser/);

    // Python is loaded now: the next run is quick.
    const secondMs = await runAndWait("332833500");
    // Loading Python again would take longer than this, even on a loaded machine.
    expect(secondMs).toBeLessThan(5_000);
    const loaded = /loaded in ([\d.]+ s)/.exec(
      (await page.locator(".pg-status").textContent()) ?? "",
    );
    console.log(
      `browser Python: Pyodide loaded in ${loaded?.[1]}; first run ${firstMs} ms (with loading), next run ${secondMs} ms (click to result)`,
    );
  });

  it("reports an exception with its line, like the server", async () => {
    await page.getByLabel("Example").selectOption({ label: "Exception" });
    await runAndWait("ZeroDivisionError");
    await expect
      .poll(() => runStatus().textContent(), { timeout: 15_000 })
      .toBe("Failed on line 2: ZeroDivisionError: division by zero");
    expect(await log().textContent()).toContain('File "/workspace/main.py", line 4, in <module>');
    expect(await ranOn().textContent()).toBe("browser");
  });

  it("says what this Python has when a program imports a package it lacks", async () => {
    await typeCode("import numpy");
    await runAndWait("Note: this program ran in the browser's Python (Pyodide)");
    await expect
      .poll(() => runStatus().textContent(), { timeout: 15_000 })
      .toBe("Failed on line 1: ModuleNotFoundError: No module named 'numpy'");
    expect(await log().textContent()).toContain(
      '"numpy" is not loaded. Run it on a Mecha server that has "numpy"',
    );
  });

  it("answers input() prompts from the keyboard", async () => {
    await page.getByLabel("Example").selectOption({ label: "Ask for input" });
    await runButton().click();
    const name = page.getByRole("textbox", { name: "What is your name?" });
    await name.waitFor({ timeout: 15_000 });
    await name.fill("Ada");
    await name.press("Enter");
    const age = page.getByRole("textbox", { name: "How old are you?" });
    await age.waitFor();
    await age.fill("30");
    await age.press("Enter");
    await expect
      .poll(() => log().textContent(), { timeout: 15_000 })
      .toContain("Hello, Ada! In ten years you will be 40.");
    expect(await ranOn().textContent()).toBe("browser");
  });

  it("ends an endless loop at the time limit", async () => {
    await page.getByLabel("Example").selectOption({ label: "Hello" });
    await page.getByLabel("Time limit").selectOption({ label: "2 s" });
    await typeCode('print("spinning", flush=True)\nwhile True: pass');
    const ms = await runAndWait("spinning", 20_000);
    // Stopped by the interrupt at the 2 s limit, or, when a busy machine keeps the worker from
    // seeing it, by ending the worker after the 1 s grace period.
    expect(await runStatus().textContent()).toMatch(/^Timed out after [2-4]\.\d\d s$/);
    expect(await ranOn().textContent()).toBe("browser");
    expect(ms).toBeLessThan(10_000);
    await page.getByLabel("Time limit").selectOption({ label: "30 s" });
  });

  it("stops an endless program with Stop, and runs the next one at once", async () => {
    await page.getByLabel("Example").selectOption({ label: "Runs forever (try Stop)" });
    await runButton().click();
    await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain("tick 1");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect
      .poll(() => runStatus().textContent(), { timeout: 10_000 })
      .toMatch(/^Stopped after \d+(\.\d+)? m?s$/);
    expect(await runButton().textContent()).toBe("Run");

    await typeCode('print("still here")');
    const ms = await runAndWait("still here", 15_000);
    expect(await ranOn().textContent()).toBe("browser");
    // Stopped by an interrupt, not by reloading Python.
    expect(ms).toBeLessThan(5_000);
  });

  it("goes back to the server as soon as it is reachable again", async () => {
    const server = startProcess(
      ["packages/server/bin/mecha-server.js", "--port", String(deadPort)],
      root,
    );
    await waitForOutput(server, /listening on/);
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${deadPort}/health`)).status, {
        timeout: 20_000,
      })
      .toBe(200);
    await page.getByRole("button", { name: "Check now" }).click();
    await expect
      .poll(() => page.getByTestId("backend-location").textContent(), { timeout: 20_000 })
      .toBe("Connected: programs run on the server");

    await typeCode("print(sum(i*i for i in range(1000)))");
    await runAndWait("332833500", 20_000);
    expect(await ranOn().textContent()).toBe("server");
    expect(await backendBadge().textContent()).toMatch(/^Runs on the server/);
  });
});

describe.skipIf(!CHROMIUM)(
  "playground: Python in the browser on a page that is not isolated",
  () => {
    beforeAll(async () => {
      const base = await startPlayground({ CROSS_ORIGIN_ISOLATION: "off" });
      await openWithDeadBackend(base, await freePort());
    });

    it("explains that input() needs the input up front", async () => {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      await page.getByLabel("Example").selectOption({ label: "Ask for input" });
      await runAndWait("EOFError");
      expect(await runStatus().textContent()).toMatch(
        /^Failed on line 1: EOFError: EOF when reading a line: .*cross-origin isolated/,
      );
      expect(await ranOn().textContent()).toBe("browser");
      expect(await page.locator(".pg-status").textContent()).toContain(
        "input() needs stdin given up front",
      );
    });

    it("stops an endless program by replacing its worker, and runs the next one", async () => {
      await page.getByLabel("Example").selectOption({ label: "Runs forever (try Stop)" });
      await runButton().click();
      await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain("tick 1");
      await page.getByRole("button", { name: "Stop" }).click();
      await expect
        .poll(() => runStatus().textContent(), { timeout: 5_000 })
        .toMatch(/^Stopped after \d+(\.\d+)? m?s$/);
      await typeCode('print("again")');
      await runAndWait("again", 30_000);
      expect(await ranOn().textContent()).toBe("browser");
    });
  },
);
