import { createTerminalBuffer } from "@mecha/client/run-store";
import { Terminal, type TerminalLineInput } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { useEffect, useState } from "react";
import { expect, userEvent, waitFor, within } from "storybook/test";

/**
 * `<Terminal>`: ANSI colours, `\r` progress lines, stdout/stderr told apart, 100,000 lines, an
 * input line for `input()`. Fed by `useRun` (`run`), a `buffer`, or plain `lines` as here.
 */
const meta = {
  title: "Terminal",
  component: Terminal,
  argTypes: {
    lines: { control: "object" },
    prompt: { control: "text" },
    label: { control: "text" },
    maxLines: { control: "number" },
    run: { control: false },
    buffer: { control: false },
    actions: { control: false },
    viewportProps: { control: "object" },
    onSubmitInput: { action: "input submitted" },
    onEof: { action: "end of input" },
  },
} satisfies Meta<typeof Terminal>;

export default meta;
type Story = StoryObj<typeof meta>;

const NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];

const colours: TerminalLineInput[] = [
  "\x1b[1mThe 16 colours\x1b[0m",
  NAMES.map((name, i) => `\x1b[${30 + i}m${name.padEnd(8)}\x1b[0m`).join(" "),
  NAMES.map((name, i) => `\x1b[${90 + i}m${name.padEnd(8)}\x1b[0m`).join(" "),
  NAMES.map((name, i) => `\x1b[${40 + i}m ${name.padEnd(7)}\x1b[0m`).join(" "),
  "",
  "\x1b[1m256 colours\x1b[0m",
  ...Array.from(
    { length: 6 },
    (_, row) =>
      Array.from({ length: 36 }, (_, i) => `\x1b[48;5;${16 + row * 36 + i}m  `).join("") +
      "\x1b[0m",
  ),
  `${Array.from({ length: 24 }, (_, i) => `\x1b[48;5;${232 + i}m  `).join("")}\x1b[0m`,
  "",
  "\x1b[1mTruecolor\x1b[0m",
  `${Array.from({ length: 72 }, (_, i) => {
    const r = Math.round(255 * (1 - i / 71));
    const b = Math.round((255 * i) / 71);
    return `\x1b[48;2;${r};80;${b}m `;
  }).join("")}\x1b[0m`,
  "",
  "\x1b[1mbold\x1b[0m \x1b[2mdim\x1b[0m \x1b[3mitalic\x1b[0m \x1b[4munderline\x1b[0m \x1b[9mstrike\x1b[0m \x1b[7mreverse\x1b[0m",
  "\x1b[32mgreen carries across lines…",
  "…until a reset\x1b[0m, then plain",
  { text: "stderr is told apart: Traceback (most recent call last):", stream: "stderr" },
];

export const Colours: Story = {
  args: { lines: colours },
  play: async ({ canvasElement }) => {
    const log = within(canvasElement).getByRole("log");
    await waitFor(() => expect(log).toHaveTextContent("The 16 colours"));
    // Escape sequences become styles, never text.
    expect(log.textContent).not.toContain("\x1b");
    expect(log.textContent).not.toMatch(/\[\d+(;\d+)*m/);
    const colourOf = (text: string) => {
      const span = [...log.querySelectorAll("span")].find((s) => s.textContent?.trim() === text);
      if (!span) throw new Error(`No styled span reads "${text}"`);
      return getComputedStyle(span).color;
    };
    expect(colourOf("red")).not.toBe(colourOf("green"));
    expect(colourOf("red")).not.toBe(getComputedStyle(log).color);
    expect(log.querySelector('[data-stream="stderr"]')).toHaveTextContent("stderr is told apart");
  },
};

/** Progress bars that rewrite their line with `\r`, as tqdm and pip do. */
function ProgressDemo() {
  const [buffer] = useState(() => createTerminalBuffer());
  useEffect(() => {
    let step = 0;
    buffer.clear();
    buffer.write("stdout", "Downloading 3 files\n");
    const timer = setInterval(() => {
      const file = Math.floor(step / 26);
      const percent = (step % 26) * 4;
      if (file >= 3) {
        buffer.write("stdout", "\n\x1b[1;32m✓ all done\x1b[0m\n");
        clearInterval(timer);
        return;
      }
      if (step % 26 === 0 && file > 0) buffer.write("stdout", "\n");
      const bar = "█".repeat(percent / 4).padEnd(25, "░");
      buffer.write(
        "stdout",
        `\rfile ${file + 1}/3 \x1b[36m${bar}\x1b[0m ${String(percent).padStart(3)}%`,
      );
      step++;
    }, 60);
    return () => clearInterval(timer);
  }, [buffer]);
  return <Terminal buffer={buffer} />;
}

export const ProgressBars: Story = {
  render: () => <ProgressDemo />,
  play: async ({ canvasElement }) => {
    const log = within(canvasElement).getByRole("log");
    await waitFor(() => expect(log).toHaveTextContent("all done"), { timeout: 10_000 });
    expect(log.querySelectorAll("[data-stream]")).toHaveLength(5);
  },
};

/** 100,000 lines, and more arriving: scroll up to stop following, End to follow again. */
function HundredThousandDemo() {
  const [buffer] = useState(() => {
    const created = createTerminalBuffer();
    for (let i = 0; i < 100_000; i++) {
      created.write(
        "stdout",
        `${String(i).padStart(6)}  \x1b[2m${"·".repeat(i % 40)}\x1b[0m line ${i}\n`,
      );
    }
    return created;
  });
  useEffect(() => {
    let i = 100_000;
    const timer = setInterval(() => {
      buffer.write("stdout", `${String(i).padStart(6)}  \x1b[33mlive\x1b[0m line ${i}\n`);
      i++;
    }, 100);
    return () => clearInterval(timer);
  }, [buffer]);
  return <Terminal buffer={buffer} />;
}

export const HundredThousandLines: Story = {
  render: () => <HundredThousandDemo />,
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    const log = canvas.getByRole("log");
    // It follows the live output, and only a window of the rows is in the DOM.
    await waitFor(() => expect(log).toHaveTextContent("live line 100001"), { timeout: 3_000 });
    expect(log).toHaveAttribute("data-following");
    expect(log.querySelectorAll("[data-stream]").length).toBeLessThan(200);
    // Going to the top stops following; "Jump to latest output" brings it back.
    log.focus();
    await userEvent.keyboard("{Home}");
    await waitFor(() => expect(log).toHaveTextContent("line 0"));
    expect(log).not.toHaveAttribute("data-following");
    await userEvent.click(canvas.getByRole("button", { name: "Jump to latest output" }));
    await waitFor(() => expect(log).toHaveAttribute("data-following"));
    await waitFor(() => expect(log).toHaveTextContent("live line"));
    expect(canvas.queryByRole("button", { name: "Jump to latest output" })).not.toBeInTheDocument();
  },
};

/** The program waits in `input()`; the answer is echoed into the transcript. */
function InputDemo() {
  const [buffer] = useState(() => {
    const created = createTerminalBuffer();
    created.write("stdout", "What is your name? ");
    return created;
  });
  const [prompt, setPrompt] = useState<string | null>("What is your name? ");
  return (
    <Terminal
      buffer={buffer}
      prompt={prompt}
      onSubmitInput={(name) => {
        buffer.echoInput(name);
        buffer.write("stdout", `Hello, \x1b[1m${name}\x1b[0m!\n`);
        setPrompt(null);
      }}
      onEof={() => {
        buffer.echoInput("");
        buffer.write("stderr", "EOFError: EOF when reading a line\n");
        setPrompt(null);
      }}
    />
  );
}

export const WaitingForInput: Story = {
  render: () => <InputDemo />,
  play: async ({ canvasElement }) => {
    const canvas = within(canvasElement);
    await userEvent.type(canvas.getByRole("textbox", { name: "What is your name?" }), "Ada{Enter}");
    await waitFor(() => expect(canvas.getByRole("log")).toHaveTextContent("Hello, Ada!"));
    // The answer is echoed as stdin, and the input line goes away once answered.
    expect(canvas.getByRole("log").querySelector('[data-stream="stdin"]')).toHaveTextContent("Ada");
    expect(canvas.queryByRole("textbox")).not.toBeInTheDocument();
  },
};

export const Empty: Story = {
  args: { lines: [] },
  play: async ({ canvasElement }) => {
    const log = within(canvasElement).getByRole("log");
    expect(log).toHaveAttribute("data-empty");
    expect(log.textContent).toBe("");
  },
};
