import type { ClientOptions } from "@mecha/client";
import { CodeRunner, type CodeRunnerProps, MechaProvider } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { expect, userEvent, waitFor, within } from "storybook/test";
import {
  BASE_URL,
  err,
  exit,
  out,
  rateLimitedOnce,
  type Step,
  serverThatRuns,
  unreachable,
} from "./server";

interface RunnerArgs extends CodeRunnerProps {
  /** Where the provider's client runs code when the server cannot (a client option). */
  fallback?: ClientOptions["fallback"];
}

/** A CodeRunner with its own client, talking to the story's msw server. */
function Runner({ fallback = "none", ...props }: RunnerArgs) {
  return (
    <MechaProvider options={{ baseUrl: BASE_URL, fallback }}>
      <CodeRunner {...props} />
    </MechaProvider>
  );
}

/**
 * `<CodeRunner>`: an editor, Run/Stop, where the code runs, a terminal and the run's figures.
 * Every story talks to msw in place of a Mecha server; `fallback` is the provider's client
 * option. The table lists `CodeRunner`'s own props (it also takes a `<div>`'s attributes).
 */
const meta = {
  title: "CodeRunner",
  component: CodeRunner,
  render: (args) => <Runner {...args} />,
  args: { defaultCode: 'print("Hello from Mecha")', fallback: "none" },
  argTypes: {
    fallback: {
      control: "inline-radio",
      options: ["none", "mock", "browser"],
      description: "Where the provider's client runs code when the server cannot.",
      table: { category: "client option" },
    },
    defaultCode: { control: "text" },
    code: { control: false },
    limits: { control: "object" },
    request: { control: "object" },
    editorProps: { control: "object" },
    outputProps: { control: "object" },
    actions: { control: false },
    onCodeChange: { action: "code changed" },
    onResult: { action: "result" },
    onError: { action: "error" },
  },
} satisfies Meta<RunnerArgs>;

export default meta;
type Story = StoryObj<typeof meta>;

const hello = (id: string): Step[] => [
  { wait: 80 },
  out("Hello from Mecha\n"),
  exit({ id, stdout: "Hello from Mecha\n" }),
];

export const Online: Story = {
  beforeEach({ msw }) {
    msw.use(...serverThatRuns(hello));
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Backend" })).toHaveTextContent(
        "Runs on the server",
      ),
    );
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(canvas.getByRole("log", { name: "Program output" })).toHaveTextContent(
        "Hello from Mecha",
      ),
    );
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run status" }).textContent).toMatch(
        /^Finished in /,
      ),
    );
  },
};

const PROGRESS = Array.from({ length: 21 }, (_, i) => {
  const done = "#".repeat(i);
  return [{ wait: 150 }, out(`\r\x1b[36mtraining\x1b[0m [${done.padEnd(20)}] ${i * 5}%`)] as Step[];
}).flat();

export const Slow: Story = {
  args: {
    defaultCode:
      'import time\nfor i in range(21):\n    print(f"\\rtraining [{"#" * i:<20}] {i * 5}%", end="")\n    time.sleep(0.15)\nprint("\\ndone")',
  },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        { wait: 600 },
        ...PROGRESS,
        out("\n\x1b[1;32mdone\x1b[0m\n"),
        exit({ id, durationMs: 3_812 }),
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    expect(await canvas.findByRole("button", { name: "Stop" })).toHaveAttribute(
      "aria-busy",
      "true",
    );
    const log = canvas.getByRole("log", { name: "Program output" });
    await waitFor(() => expect(log).toHaveTextContent("training"), { timeout: 3_000 });
    expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent("Running…");
    await waitFor(() => expect(log).toHaveTextContent("done"), { timeout: 8_000 });
    // Every `\r` rewrote the same row: one progress line, at 100%, then "done".
    const progress = [...log.querySelectorAll("[data-stream]")].filter((row) =>
      row.textContent?.includes("training"),
    );
    expect(progress).toHaveLength(1);
    expect(progress[0]).toHaveTextContent("[####################] 100%");
    // "done" can be drawn a moment before the exit event is handled.
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Finished in 3.81 s",
      ),
    );
    expect(canvas.getByRole("button", { name: "Run" })).toHaveAttribute("aria-busy", "false");
  },
};

export const Interactive: Story = {
  args: { defaultCode: 'name = input("Name? ")\nprint(f"Hello, {name}!")' },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        out("Name? "),
        { type: "input", prompt: "Name? " },
        { stdin: (name) => [out(`Hello, ${name}!\n`), exit({ id })] },
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await userEvent.type(await canvas.findByRole("textbox", { name: "Name?" }), "Ada{Enter}");
    await waitFor(() =>
      expect(canvas.getByRole("log", { name: "Program output" })).toHaveTextContent("Hello, Ada!"),
    );
  },
};

export const OfflineWithMockFallback: Story = {
  args: { fallback: "mock", defaultCode: 'print("This is not really run")' },
  beforeEach({ msw }) {
    msw.use(...unreachable);
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    // The client first tries the server, and retries a connection that failed twice (0.45 to
    // 0.9 s of backoff), before it falls back: longer than waitFor's default second on a busy
    // machine.
    await waitFor(
      () =>
        expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent(
          "Simulated output: this code was not run",
        ),
      { timeout: 5_000 },
    );
    // Simulated output is labelled as such, and gets no figures that would suggest a real run.
    expect(canvas.getByText("simulation")).toBeInTheDocument();
    expect(canvas.queryByText("Exit")).not.toBeInTheDocument();
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Backend" })).toHaveTextContent(
        "Simulated: server offline",
      ),
    );
  },
};

export const OfflineWithoutFallback: Story = {
  beforeEach({ msw }) {
    msw.use(...unreachable);
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(
      () =>
        expect(canvas.getByRole("status", { name: "Run status" }).textContent).toMatch(
          /^Could not run the code: /,
        ),
      { timeout: 5_000 },
    );
    // Nothing pretends to have run: no output and no figures.
    expect(canvas.getByRole("log", { name: "Program output" }).textContent).toBe("");
    expect(canvas.queryByText("Ran on")).not.toBeInTheDocument();
    expect(canvas.getByRole("button", { name: "Run" })).toBeEnabled();
  },
};

export const RateLimitedThenSuccess: Story = {
  beforeEach({ msw }) {
    msw.use(...rateLimitedOnce(hello));
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    // The 429 asks for a one-second wait; the retried run then succeeds on the server.
    await waitFor(
      () =>
        expect(canvas.getByRole("status", { name: "Run status" }).textContent).toMatch(
          /^Finished in /,
        ),
      { timeout: 5_000 },
    );
    expect(canvas.getByRole("log", { name: "Program output" })).toHaveTextContent(
      "Hello from Mecha",
    );
    expect(canvas.getByText("Ran on").nextElementSibling).toHaveTextContent("server");
  },
};

export const ExceptionWithTraceback: Story = {
  args: { defaultCode: "total = 0\nfor n in [1, 2, 3]:\n    total += n / (n - 2)\nprint(total)" },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        err(
          'Traceback (most recent call last):\n  File "main.py", line 3, in <module>\n    total += n / (n - 2)\n             ~~^~~~~~~\nZeroDivisionError: division by zero\n',
        ),
        exit({
          id,
          status: "failed",
          exitCode: 1,
          error: {
            type: "ZeroDivisionError",
            message: "division by zero",
            line: 3,
            traceback: "Traceback (most recent call last): …",
          },
        }),
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Failed on line 3: ZeroDivisionError: division by zero",
      ),
    );
    // The editor marks the failing line.
    const editor = canvas.getByRole("textbox", { name: "Python code" });
    await waitFor(() =>
      expect(editor.querySelector(".mecha-editor-errorLine")).toHaveTextContent(
        "total += n / (n - 2)",
      ),
    );
  },
};

export const Timeout: Story = {
  args: { defaultCode: "while True:\n    pass", limits: { timeoutMs: 2000 } },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        { wait: 2000 },
        exit({ id, status: "timed_out", exitCode: null, signal: "SIGKILL", durationMs: 2004 }),
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(
      () =>
        expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent(
          "Timed out after 2.00 s",
        ),
      { timeout: 5_000 },
    );
    expect(canvas.getByText("signal SIGKILL")).toBeInTheDocument();
  },
};

export const OutputLimit: Story = {
  args: {
    defaultCode: "i = 0\nwhile True:\n    print(i)\n    i += 1",
    limits: { outputBytes: 65_536 },
  },
  beforeEach({ msw }) {
    const lines = Array.from({ length: 12_000 }, (_, i) => `${i}\n`).join("");
    msw.use(
      ...serverThatRuns((id) => [
        out(lines.slice(0, 65_536)),
        exit({
          id,
          status: "output_exceeded",
          exitCode: null,
          signal: "SIGKILL",
          truncated: true,
          durationMs: 95,
          limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 65_536 },
        }),
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent(
        "Stopped: output limit of 64 KiB reached",
      ),
    );
    // The output up to the cap is kept, the cut is marked, and the terminal follows it there.
    const log = canvas.getByRole("log", { name: "Program output" });
    await waitFor(() =>
      expect(log).toHaveTextContent("Output cut here: output limit of 64 KiB reached"),
    );
    expect(log).toHaveAttribute("data-following");
  },
};

export const Cancelled: Story = {
  args: { defaultCode: 'import time\nwhile True:\n    print("tick")\n    time.sleep(0.5)' },
  beforeEach({ msw }) {
    msw.use(
      ...serverThatRuns((id) => [
        ...Array.from({ length: 60 }, () => [out("tick\n"), { wait: 500 }] as Step[]).flat(),
        exit({ id }),
      ]),
    );
  },
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.click(canvas.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(canvas.getByRole("log", { name: "Program output" })).toHaveTextContent("tick"),
    );
    await userEvent.click(canvas.getByRole("button", { name: "Stop" }));
    await waitFor(() =>
      expect(canvas.getByRole("status", { name: "Run status" })).toHaveTextContent("Stopped"),
    );
  },
};
