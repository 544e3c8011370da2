// @vitest-environment node
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { dataFrame } from "./test/displays";
import { createFakeClient } from "./test/fakeClient";

describe("server rendering", () => {
  it("imports without a DOM", async () => {
    expect(typeof globalThis.window).toBe("undefined");
    expect(typeof globalThis.document).toBe("undefined");
    const module = await import("./index");
    expect(module.CodeRunner).toBeTypeOf("object");
  });

  it("renders the provider with a CodeRunner to HTML", async () => {
    const { CodeRunner, MechaProvider } = await import("./index");
    const html = renderToString(
      <MechaProvider client={createFakeClient({ status: "online" })}>
        <CodeRunner defaultCode={'print("<hello>")'} />
      </MechaProvider>,
    );
    expect(html).toContain("print(&quot;&lt;hello&gt;&quot;)");
    // The editor is a plain labelled text area until CodeMirror loads in the browser.
    expect(html).toMatch(/<textarea[^>]*aria-label="Python code"/);
    expect(html).not.toContain("cm-editor");
    expect(html).toContain('role="log"');
    expect(html).toContain('aria-busy="false"');
    expect(html).toContain("Runs on the server");
    expect(html).toContain('class="mecha-codeRunner"');
  });

  it("renders from client options and with a terminal of plain lines", async () => {
    const { MechaProvider, Terminal } = await import("./index");
    const html = renderToString(
      <MechaProvider options={{ baseUrl: "/api/mecha" }}>
        <Terminal lines={["\x1b[31mred\x1b[0m", "line 2"]} />
      </MechaProvider>,
    );
    expect(html).toContain("red");
    expect(html).toContain("line 2");
  });

  it("renders a program's HTML as its text/plain: the sanitiser runs only in the browser", async () => {
    const { DisplayView } = await import("./index");
    const html = renderToString(<DisplayView display={dataFrame} />);
    expect(html).toContain('data-state="loading"');
    expect(html).toContain("Oslo    120");
    expect(html).not.toContain("<table");
  });
});
