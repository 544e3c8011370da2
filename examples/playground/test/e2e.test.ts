import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

/**
 * The playground as a new user meets it: real Chromium, the real Express app, real Python.
 */

const here = fileURLToPath(new URL("..", import.meta.url));
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) =>
  existsSync(path),
);
if (!CHROMIUM)
  console.warn(
    "playground e2e: SKIPPED — no Chromium at /usr/bin/chromium (apt-get install chromium)",
  );

let server: ChildProcess;
let base = "";
let browser: Browser;
let page: Page;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe.skipIf(!CHROMIUM)("playground in Chromium", () => {
  beforeAll(async () => {
    if (!existsSync(`${here}/dist/index.html`)) execFileSync("pnpm", ["build"], { cwd: here });
    server = spawn(process.execPath, ["server.js"], {
      cwd: here,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    base = await new Promise<string>((resolve, reject) => {
      let text = "";
      server.stdout!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const match = /playground on (http:\/\/\S+)/.exec(text);
        if (match) resolve(match[1]!);
      });
      server.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
      server.once("exit", (code) => reject(new Error(`playground exited (${code}):\n${text}`)));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.kill("SIGTERM");
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
      .poll(() => page.getByTestId("backend-location").textContent())
      .toContain("programs run on the server");
    const editor = page.locator(".cm-content");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.type("total = sum(range(1, 101))\nprint('total is', total)");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => log().textContent(), { timeout: 15_000 }).toContain("total is 5050");
    const ranOn = page.locator("dt", { hasText: "Ran on" }).locator("xpath=following-sibling::dd");
    await expect.poll(() => ranOn.textContent()).toBe("server");
  });

  it("answers input() prompts in the terminal with the keyboard", async () => {
    await page.goto(base);
    await chooseExample("Ask for input");
    await runButton().click();
    const name = page.getByRole("textbox", { name: "What is your name?" });
    await name.waitFor({ timeout: 15_000 });
    await expect.poll(() => name.evaluate((el) => el === document.activeElement)).toBe(true);
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
