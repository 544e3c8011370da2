import { type BackendStatus, MechaProvider, useBackendStatus } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { expect, waitFor, within } from "storybook/test";
import { BASE_URL, serverThatRuns, unreachable } from "./server";

/**
 * `useBackendStatus()` reads the client's own state machine (so every component agrees) and
 * returns what the table lists: `status` (`unknown` until a health check has succeeded), the
 * latest `health`, `error` (why the last check failed), `location` (where code runs now, in the
 * words the UI uses), `lastBackend`, `isChecking`, and `check()`. This demo shows the values the
 * hook returns for the story's server.
 */
function BackendStatusFields(status: BackendStatus) {
  const rows: [string, string][] = [
    ["status", status.status],
    ["location", status.location],
    ["error", status.error ? `${status.error.kind}: ${status.error.message}` : "none"],
    [
      "health",
      status.health ? `${status.health.status}, version ${status.health.version}` : "none",
    ],
    ["lastBackend", status.lastBackend ?? "none"],
    ["isChecking", String(status.isChecking)],
  ];
  return (
    <dl style={{ display: "grid", gridTemplateColumns: "auto 1fr", gap: "4px 12px" }}>
      {rows.map(([name, value]) => (
        <div key={name} style={{ display: "contents" }}>
          <dt>{name}</dt>
          <dd style={{ margin: 0 }} data-field={name}>
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function LiveStatus() {
  return <BackendStatusFields {...useBackendStatus()} />;
}

const meta = {
  title: "Hooks/useBackendStatus",
  component: BackendStatusFields,
  render: () => (
    <MechaProvider options={{ baseUrl: BASE_URL, fallback: "mock" }}>
      <LiveStatus />
    </MechaProvider>
  ),
  // The table documents what the hook returns; the demo shows the live values, not args.
  argTypes: Object.fromEntries(
    ["status", "health", "error", "location", "lastBackend", "isChecking", "check"].map((name) => [
      name,
      { control: false },
    ]),
  ),
} satisfies Meta<typeof BackendStatusFields>;

export default meta;
// The demo takes no args: it shows what the hook returns.
type Story = StoryObj<Partial<BackendStatus>>;

const field = (canvasElement: HTMLElement, name: string) =>
  canvasElement.querySelector(`[data-field="${name}"]`);

export const Online: Story = {
  beforeEach({ msw }) {
    msw.use(...serverThatRuns(() => []));
  },
  play: async ({ canvasElement }) => {
    await waitFor(() => expect(field(canvasElement, "status")).toHaveTextContent("online"));
    expect(field(canvasElement, "location")).toHaveTextContent("server");
    expect(field(canvasElement, "error")).toHaveTextContent("none");
  },
};

export const ServerUnreachable: Story = {
  beforeEach({ msw }) {
    msw.use(...unreachable);
  },
  play: async ({ canvasElement }) => {
    await waitFor(() => expect(field(canvasElement, "error")).toHaveTextContent(/^unreachable: /));
    // Not reached once: not "degraded", and nothing says the server runs code.
    expect(field(canvasElement, "status")).toHaveTextContent("unknown");
    expect(field(canvasElement, "location")).toHaveTextContent("unknown");
    expect(within(canvasElement).queryByText("server")).toBeNull();
  },
};
