import { render, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { dataFrame, plot } from "../test/displays";

/** The sanitiser's chunk, counted: how often it was loaded, and whether loading it fails. */
const chunk = { loads: 0, fail: false };

/** A fresh module graph per test (the sanitiser's state lives in its module), its chunk watched. */
async function freshDisplayView() {
  vi.resetModules();
  vi.doMock("./sanitizeHtml", async (importOriginal) => {
    chunk.loads += 1;
    if (chunk.fail) throw new Error("Failed to fetch dynamically imported module");
    return importOriginal();
  });
  return (await import("./DisplayView")).DisplayView;
}

beforeEach(() => {
  chunk.loads = 0;
  chunk.fail = false;
});

describe("the HTML sanitiser's chunk", () => {
  it("is loaded only when HTML is first shown, once for every display", async () => {
    const DisplayView = await freshDisplayView();
    const { rerender } = render(
      <>
        <DisplayView display={plot} />
        <DisplayView display={{ data: { "text/plain": "42" } }} />
      </>,
    );
    expect(screen.getByRole("img")).toBeInTheDocument();
    expect(chunk.loads).toBe(0);
    rerender(
      <>
        <DisplayView display={dataFrame} />
        <DisplayView display={{ data: { "text/plain": "b", "text/html": "<b>bold</b>" } }} />
      </>,
    );
    await waitFor(() => expect(screen.getByRole("table")).toBeInTheDocument());
    expect(screen.getByText("bold").tagName).toBe("B");
    expect(chunk.loads).toBe(1);
  });

  it("failing, leaves the display's text/plain in place; the next display tries again", async () => {
    chunk.fail = true;
    const DisplayView = await freshDisplayView();
    const { container, unmount } = render(<DisplayView display={dataFrame} />);
    await waitFor(() => expect(container.querySelector("[data-state=plain]")).not.toBeNull());
    expect(container).toHaveTextContent("city sales");
    expect(screen.queryByRole("table")).toBeNull();
    unmount();

    chunk.fail = false;
    render(<DisplayView display={dataFrame} />);
    await waitFor(() => expect(screen.getByRole("table")).toHaveTextContent("Oslo120"));
  });
});
