import { CodeRunner, MechaProvider } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { HttpResponse, http } from "msw";
import { expect, waitFor, within } from "storybook/test";

/**
 * A CodeRunner against a real `mecha-server`, not msw: start one first
 * (`pnpm exec mecha-server`, or set `STORYBOOK_MECHA_URL` to another). Without one it says so:
 * "Checking server…" until a health check succeeds, then that the output is simulated, never
 * that the server runs the code.
 */
function LiveRunner({ baseUrl, defaultCode }: { baseUrl: string; defaultCode: string }) {
  return (
    <MechaProvider key={baseUrl} options={{ baseUrl, fallback: "mock" }}>
      <CodeRunner defaultCode={defaultCode} limits={{ timeoutMs: 30_000 }} />
    </MechaProvider>
  );
}

const meta = {
  title: "CodeRunner/Live server",
  component: LiveRunner,
  args: {
    baseUrl:
      (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env
        ?.STORYBOOK_MECHA_URL ?? "http://127.0.0.1:5000",
    defaultCode:
      'import platform, time\nname = input("Your name? ")\nfor i in range(0, 101, 10):\n    print(f"\\r{i:3d}%", end="", flush=True)\n    time.sleep(0.05)\nprint(f"\\nHello {name}, from Python {platform.python_version()} on the server")\n',
  },
} satisfies Meta<typeof LiveRunner>;

export default meta;
type Story = StoryObj<typeof meta>;

/** Left out of the automated story tests (tag `!test`): there is no server there. */
export const LiveServer: Story = { tags: ["!test"] };

const DEAD = "http://127.0.0.1:9";

/**
 * The same story where nothing listens (as a new user sees it before starting a server): the
 * badge says "Checking server…" from the first frame, then "Simulated: server offline".
 */
export const NoServerRunning: Story = {
  args: { baseUrl: DEAD },
  beforeEach({ msw, canvasElement }) {
    // Refused like a closed port, without msw warning about a request it does not handle.
    msw.use(http.all(`${DEAD}/*`, () => HttpResponse.error()));
    const seen: string[] = [];
    (canvasElement as HTMLElement & { seen?: string[] }).seen = seen;
    const observer = new MutationObserver(() => {
      const text = canvasElement.querySelector(".mecha-status")?.textContent;
      if (text && !seen.includes(text)) seen.push(text);
    });
    observer.observe(canvasElement, { subtree: true, childList: true, characterData: true });
    return () => observer.disconnect();
  },
  play: async ({ canvasElement }) => {
    const badge = within(canvasElement).getByRole("status", { name: "Backend" });
    await waitFor(() => expect(badge).toHaveTextContent("Simulated: server offline"), {
      timeout: 15_000,
    });
    const seen = (canvasElement as HTMLElement & { seen?: string[] }).seen;
    expect(seen?.[0]).toBe("Checking server…");
    expect(seen?.join("\n")).not.toMatch(/on the server/);
  },
};
