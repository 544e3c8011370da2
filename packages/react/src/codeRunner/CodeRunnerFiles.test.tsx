import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MechaProvider } from "../MechaProvider";
import { createFakeClient, type FakeScript } from "../test/fakeClient";
import { CodeRunner } from "./CodeRunner";
import { blobType } from "./useFileUrls";

const CSV = btoa("city,sales\nOslo,120\n");

// jsdom has Blob but no Blob URLs: these stand in for the browser's (the browser project uses
// the real ones), recording what was made and revoked.
let made: { url: string; blob: Blob }[] = [];
let revoked: string[] = [];
beforeEach(() => {
  made = [];
  revoked = [];
  Object.assign(URL, {
    createObjectURL: (blob: Blob) => {
      const url = `blob:test/${made.length + 1}`;
      made.push({ url, blob });
      return url;
    },
    revokeObjectURL: (url: string) => revoked.push(url),
  });
});
afterEach(() => {
  delete (URL as { createObjectURL?: unknown }).createObjectURL;
  delete (URL as { revokeObjectURL?: unknown }).revokeObjectURL;
});

async function runWith(script: FakeScript) {
  const client = createFakeClient({ script });
  const user = userEvent.setup();
  const view = render(
    <MechaProvider client={client} healthChecks={false}>
      <CodeRunner
        defaultCode="df.to_csv('out.csv')"
        request={{ returnFiles: ["*.csv", "*.png"] }}
      />
    </MechaProvider>,
  );
  const run = async () => {
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(/^Finished/),
    );
  };
  await run();
  return { client, view, run };
}

describe("<CodeRunner> files a run returned", () => {
  it("asks for them with returnFiles and offers each as a download with its size", async () => {
    const { client } = await runWith(async () => ({
      files: [
        { path: "out/report.csv", size: 21, content: CSV },
        { path: "chart.png", size: 2048, content: btoa("\x89PNG") },
      ],
    }));
    expect(client.requests[0]?.returnFiles).toEqual(["*.csv", "*.png"]);
    const list = screen.getByRole("list", { name: "Files from the run" });
    const csv = within(list).getByRole("link", { name: "out/report.csv" });
    expect(csv).toHaveAttribute("href", "blob:test/1");
    expect(csv).toHaveAttribute("download", "report.csv");
    expect(list).toHaveTextContent("out/report.csv 21 bytes");
    expect(list).toHaveTextContent("chart.png 2 KiB");
    expect(await made[0]!.blob.text()).toBe("city,sales\nOslo,120\n");
    expect(made.map(({ blob }) => blob.type)).toEqual(["text/csv;charset=utf-8", "image/png"]);
  });

  it("says honestly when a file was listed without its content", async () => {
    await runWith(async () => ({
      truncated: true,
      limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
      files: [
        { path: "small.csv", size: 21, content: CSV },
        { path: "huge.csv", size: 5 << 20, content: null, truncated: true },
      ],
    }));
    const list = screen.getByRole("list", { name: "Files from the run" });
    expect(within(list).queryByRole("link", { name: "huge.csv" })).toBeNull();
    const huge = within(list).getByText("huge.csv").closest("li")!;
    expect(huge).toHaveAttribute("data-state", "omitted");
    expect(huge).toHaveTextContent("huge.csv 5 MiB · not sent: over the output limit of 1 MiB");
    expect(within(list).getByRole("link", { name: "small.csv" })).toBeInTheDocument();
    expect(made).toHaveLength(1);
  });

  it("revokes the URLs when the next run replaces them, and on unmount", async () => {
    let n = 0;
    const { view, run } = await runWith(async () => ({
      files: [{ path: `run${++n}.csv`, size: 21, content: CSV }],
    }));
    expect(screen.getByRole("link", { name: "run1.csv" })).toHaveAttribute("href", "blob:test/1");
    await run();
    await waitFor(() =>
      expect(screen.getByRole("link", { name: "run2.csv" })).toHaveAttribute("href", "blob:test/2"),
    );
    expect(revoked).toEqual(["blob:test/1"]);
    view.unmount();
    expect(revoked).toEqual(["blob:test/1", "blob:test/2"]);
  });

  it("shows nothing for a run that returned no files", async () => {
    await runWith(async (fake) => fake.stdout("no files\n"));
    expect(screen.queryByRole("list", { name: "Files from the run" })).toBeNull();
    expect(made).toHaveLength(0);
  });

  it("types Blobs only as what a browser shows inertly, never as a page", () => {
    expect(
      ["a.PNG", "b.jpeg", "c.csv", "d.json", "e.html", "f.svg", "g.js", "noext", "dir.x/file"].map(
        blobType,
      ),
    ).toEqual([
      "image/png",
      "image/jpeg",
      "text/csv;charset=utf-8",
      "application/json",
      "application/octet-stream",
      "application/octet-stream",
      "application/octet-stream",
      "application/octet-stream",
      "application/octet-stream",
    ]);
  });
});
