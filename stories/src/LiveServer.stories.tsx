import { CodeRunner, MechaProvider } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";

/**
 * A CodeRunner against a real `mecha-server`, not msw: start one first
 * (`pnpm exec mecha-server`, or set `STORYBOOK_MECHA_URL` to another). It is left out of the
 * automated story tests (tag `!test`) because they run without a server; the msw stories cover
 * every scenario there.
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
  tags: ["!test"],
  args: {
    baseUrl:
      (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env
        ?.STORYBOOK_MECHA_URL ?? "http://127.0.0.1:5000",
    defaultCode:
      'import platform, time\nname = input("Your name? ")\nfor i in range(0, 101, 10):\n    print(f"\\r{i:3d}%", end="", flush=True)\n    time.sleep(0.05)\nprint(f"\\nHello {name}, from Python {platform.python_version()} on the server")\n',
  },
} satisfies Meta<typeof LiveRunner>;

export default meta;

export const LiveServer: StoryObj<typeof meta> = {};
