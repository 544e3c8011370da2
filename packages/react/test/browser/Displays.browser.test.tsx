import type { Display } from "@mecha/protocol";
import { cleanup, configure, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { userEvent } from "vitest/browser";
import { CodeRunner, MechaProvider } from "../../src/index";
import { dataFrame, hostile, hostileSvg } from "../../src/test/displays";
import { createFakeClient, type FakeScript } from "../../src/test/fakeClient";
import "../../src/styles.css";

// The first HTML display waits for the sanitizer, a module loaded on first use.
configure({ asyncUtilTimeout: 5_000 });

/**
 * Rich output in Chromium: a hostile `_repr_html_` runs nothing and stays in its box, figures
 * scale to the width, and returned files download from Blob URLs.
 */

afterEach(() => cleanup());

declare global {
  interface Window {
    __mechaPwned?: string;
  }
}

/** Runs `script` in a CodeRunner on a host page `width` px wide (the frame is 414 px). */
async function runInPage(script: FakeScript, width = 400) {
  const client = createFakeClient({ script });
  render(
    <div data-testid="host" style={{ width }}>
      <p data-testid="page-text">Text of the host page</p>
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="display(obj)" request={{ returnFiles: ["*"] }} />
      </MechaProvider>
    </div>,
  );
  await userEvent.click(screen.getByRole("button", { name: "Run" }));
  await waitFor(() =>
    expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(/^Finished/),
  );
  return screen.getByRole("log", { name: "Program output" });
}

/** Resolves when `type` reaches the element matched by `selector` (seen on the way down). */
function eventReaching(type: string, selector: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: Event) => {
      if (!(event.target instanceof Element) || !event.target.matches(selector)) return;
      window.removeEventListener(type, listener, true);
      // Any handler on the target runs in this same dispatch, after this capture listener.
      queueMicrotask(resolve);
    };
    window.addEventListener(type, listener, true);
  });
}

describe("a hostile display in Chromium", () => {
  it("runs none of its code and leaves the page as it was", async () => {
    window.__mechaPwned = undefined;
    const background = getComputedStyle(document.body).backgroundColor;
    const href = window.location.href;
    const frames = window.frames.length;
    const imageFailed = eventReaching("error", "#user-content-bad-image");
    const toggled = eventReaching("toggle", "details");
    const log = await runInPage(async (run) => {
      run.display(hostile);
      run.display(hostileSvg);
    });
    await waitFor(() =>
      expect(log.querySelector(".mecha-display-html[data-state=ready]")).not.toBeNull(),
    );
    // The events its handlers were attached to did happen; the handlers were gone.
    await imageFailed;
    await toggled;
    const svgImage = within(log).getByRole("img", { name: "<Hostile SVG>" }) as HTMLImageElement;
    await svgImage.decode();
    // The contained overlay lies over the link, as it lies over its whole box: activate it directly.
    (log.querySelector("#user-content-js-link") as HTMLAnchorElement).click();
    expect(window.__mechaPwned).toBeUndefined();
    expect(window.location.href).toBe(href);
    // The SVG is an image: its markup never reached the page.
    expect(log.querySelector('svg[width="20"]')).toBeNull();
    expect(svgImage.src).toMatch(/^data:image\/svg\+xml;/);
    expect(svgImage.naturalWidth).toBe(20);
    // Its <style> restyled nothing: the page's background and text are as they were.
    expect(getComputedStyle(document.body).backgroundColor).toBe(background);
    expect(getComputedStyle(screen.getByTestId("page-text")).visibility).toBe("visible");
    expect(document.querySelector("meta[http-equiv], base, link[href*='evil']")).toBeNull();
    // No other document was loaded into the page, and nothing can be posted from it.
    expect(log.querySelector("iframe, frame, object, embed, form, input, button")).toBeNull();
    expect(window.frames.length).toBe(frames);
  });

  it("keeps a position: fixed overlay inside the display's box", async () => {
    const log = await runInPage(async (run) => run.display(hostile));
    await waitFor(() =>
      expect(log.querySelector(".mecha-display-html[data-state=ready]")).not.toBeNull(),
    );
    const box = log.querySelector(".mecha-display-html") as HTMLElement;
    expect(getComputedStyle(box).contain).toMatch(/paint/);
    const overlay = box.querySelector("#user-content-overlay")!.getBoundingClientRect();
    const bounds = box.getBoundingClientRect();
    expect(overlay.left).toBeGreaterThanOrEqual(bounds.left);
    expect(overlay.top).toBeGreaterThanOrEqual(bounds.top);
    expect(overlay.right).toBeLessThanOrEqual(bounds.right);
    expect(overlay.bottom).toBeLessThanOrEqual(bounds.bottom);
    // What the user sees and clicks outside the box is the page, not the overlay.
    const text = screen.getByTestId("page-text").getBoundingClientRect();
    const atText = document.elementFromPoint(text.left + 5, text.top + text.height / 2);
    expect(atText).toBe(screen.getByTestId("page-text"));
    const run = screen.getByRole("button", { name: "Run" }).getBoundingClientRect();
    expect(document.elementFromPoint(run.left + run.width / 2, run.top + run.height / 2)).toBe(
      screen.getByRole("button", { name: "Run" }),
    );
  });
});

/** A PNG the browser draws: `width` × `height`, as base64. */
function drawnPng(width: number, height: number): string {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#0b6bcb";
  context.fillRect(0, 0, width, height);
  return canvas.toDataURL("image/png").slice("data:image/png;base64,".length);
}

describe("figures and tables in Chromium", () => {
  it("scales a large figure to the width, keeping its full resolution", async () => {
    const figure: Display = {
      data: { "image/png": drawnPng(1600, 400), "text/plain": "<Figure size 1600x400>" },
    };
    const log = await runInPage(async (run) => run.display(figure), 375);
    const image = within(log).getByRole("img", { name: "<Figure size 1600x400>" });
    await (image as HTMLImageElement).decode();
    expect((image as HTMLImageElement).naturalWidth).toBe(1600);
    const host = screen.getByTestId("host");
    expect(image.getBoundingClientRect().right).toBeLessThanOrEqual(
      host.getBoundingClientRect().right,
    );
    expect(image.getBoundingClientRect().width).toBeGreaterThan(200);
    expect(host.scrollWidth).toBeLessThanOrEqual(375);
  });

  it("draws a DataFrame as a table styled for reading, left of a centred host page", async () => {
    const host = document.createElement("style");
    host.textContent = "[data-testid=host] { text-align: center; }";
    document.head.append(host);
    try {
      const log = await runInPage(async (run) => run.display(dataFrame));
      await waitFor(() =>
        expect(log.querySelector(".mecha-display-html[data-state=ready]")).not.toBeNull(),
      );
      const table = within(log).getByRole("table");
      const [header] = within(table).getAllByRole("columnheader", { name: "city" });
      const [first, second] = within(table).getAllByRole("row").slice(1);
      // Figures line up on the right, as in a notebook; the header stands out.
      expect(getComputedStyle(within(table).getByRole("cell", { name: "120" })).textAlign).toBe(
        "right",
      );
      expect(Number(getComputedStyle(header!).fontWeight)).toBeGreaterThanOrEqual(600);
      expect(getComputedStyle(header!).borderBottomWidth).toBe("2px");
      expect(getComputedStyle(table).fontVariantNumeric).toBe("tabular-nums");
      // Striped rows to follow across.
      expect(getComputedStyle(first!).backgroundColor).not.toBe(
        getComputedStyle(second!).backgroundColor,
      );
      // The host's centring reaches neither the table nor the box around it.
      const box = log.querySelector(".mecha-display-html") as HTMLElement;
      expect(getComputedStyle(box).textAlign).toBe("start");
      expect(table.getBoundingClientRect().left - box.getBoundingClientRect().left).toBeLessThan(4);
    } finally {
      host.remove();
    }
  });

  it("scrolls a wide DataFrame inside its box, never the page", async () => {
    const columns = Array.from({ length: 30 }, (_, i) => `column_${i}`);
    const wide: Display = {
      data: {
        "text/plain": "wide frame",
        "text/html": `<table class="dataframe"><thead><tr><th></th>${columns.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody><tr><th>0</th>${columns.map((_, i) => `<td>${i * 1000}</td>`).join("")}</tr></tbody></table>`,
      },
    };
    const log = await runInPage(async (run) => run.display(wide), 375);
    await waitFor(() =>
      expect(log.querySelector(".mecha-display-html[data-state=ready]")).not.toBeNull(),
    );
    const box = log.querySelector(".mecha-display-html") as HTMLElement;
    expect(box.scrollWidth).toBeGreaterThan(box.clientWidth);
    expect(box.getBoundingClientRect().right).toBeLessThanOrEqual(
      screen.getByTestId("host").getBoundingClientRect().right,
    );
    expect(screen.getByTestId("host").scrollWidth).toBeLessThanOrEqual(375);
    expect(document.documentElement.scrollWidth).toBeLessThanOrEqual(window.innerWidth);
  });
});

describe("returned files in Chromium", () => {
  it("downloads a file's bytes from a Blob URL, revoked when the runner goes", async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const content = btoa(String.fromCharCode(...bytes));
    await runInPage(async () => ({
      files: [{ path: "out/chart.png", size: bytes.length, content }],
    }));
    const link = screen.getByRole("link", { name: "out/chart.png" }) as HTMLAnchorElement;
    expect(link.href).toMatch(/^blob:/);
    expect(link.download).toBe("chart.png");
    const response = await fetch(link.href);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
    const url = link.href;
    cleanup();
    await expect(fetch(url)).rejects.toThrow();
  });
});
