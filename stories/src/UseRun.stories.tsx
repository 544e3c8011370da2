import { MechaProvider, Terminal, type UseRunOptions, useRun } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { expect, userEvent, waitFor, within } from "storybook/test";
import { BASE_URL, exit, out, serverThatRuns } from "./server";

interface UseRunDemoProps extends UseRunOptions {
  /** The code the Run button starts (`run.start(code)`). */
  code: string;
}

/**
 * `useRun(options)` runs code with the provider's client and follows the run. It returns the
 * run's `state` (`idle`, `queued`, `running`, then how it ended), `result`, `error`, `prompt`
 * (an `input()` waiting), `isRunning`, the `output` transcript for `<Terminal run>`, and
 * `start(code)`, `stop()`, `sendInput(text)`, `sendEof()`, `reset()`, `clear()`. The table lists
 * its options; `code` is this demo's own.
 */
function UseRunDemo({ code, ...options }: UseRunDemoProps) {
  const run = useRun(options);
  return (
    <div style={{ display: "grid", gap: 8 }}>
      <div>
        <button type="button" onClick={() => (run.isRunning ? run.stop() : run.start(code))}>
          {run.isRunning ? "Stop" : "Run"}
        </button>{" "}
        <output aria-label="Run state">{run.state}</output>
      </div>
      <Terminal run={run} label="Program output" />
    </div>
  );
}

const meta = {
  title: "Hooks/useRun",
  component: UseRunDemo,
  decorators: [
    (Story) => (
      <MechaProvider options={{ baseUrl: BASE_URL }}>
        <Story />
      </MechaProvider>
    ),
  ],
  args: { code: 'print("Hello from useRun")', clearOnStart: true },
  argTypes: {
    code: { control: "text", table: { category: "demo" } },
    request: { control: "object" },
    clearOnStart: { control: "boolean" },
    maxLines: { control: "number" },
    onEvent: { action: "event" },
    onResult: { action: "result" },
    onError: { action: "error" },
  },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        out("Hello from useRun\n"),
        exit({ id, stdout: "Hello from useRun\n" }),
      ]),
    );
  },
} satisfies Meta<typeof UseRunDemo>;

export default meta;

export const Basic: StoryObj<typeof meta> = {
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(canvas.getByRole("log", { name: "Program output" })).toHaveTextContent(
        "Hello from useRun",
      ),
    );
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run state" })).toHaveTextContent("succeeded"),
    );
  },
};
