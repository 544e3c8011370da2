import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { CodeRunner } from "./codeRunner/CodeRunner";
import type { BackendKind, ClientStatus } from "./internal/clientTypes";
import type { FallbackLabel } from "./internal/MechaContext";
import { MechaProvider, type MechaProviderProps } from "./MechaProvider";
import { createFakeClient, type FakeClient } from "./test/fakeClient";
import { locate, type RunLocation } from "./useBackendStatus";
import { useRun } from "./useRun";

function Runner() {
  const run = useRun();
  return (
    <button type="button" onClick={() => run.start("print(1)")}>
      {run.state === "idle" ? "Run" : run.state}
    </button>
  );
}

function renderBadge(client: FakeClient, props: Partial<MechaProviderProps> = {}) {
  render(
    <MechaProvider client={client} healthChecks={false} {...props}>
      <CodeRunner.Status />
      <Runner />
    </MechaProvider>,
  );
  return {
    badge: () => screen.getByRole("status", { name: "Backend" }),
    async run(user = userEvent.setup()) {
      await user.click(screen.getByRole("button", { name: "Run" }));
      await screen.findByRole("button", { name: "succeeded" });
    },
  };
}

describe("locate", () => {
  const run = (backend: BackendKind, current: boolean) => ({ backend, current });
  it.each<[ClientStatus, ReturnType<typeof run> | null, FallbackLabel | null, RunLocation]>([
    ["online", null, null, "server"],
    ["degraded", null, "mock", "server"],
    ["online", run("server", true), "mock", "server"],
    // A run that fell back since the latest status change says where code runs now.
    ["online", run("mock", true), "mock", "simulated"],
    ["degraded", run("browser", true), "browser", "browser"],
    ["online", run("mock", false), "mock", "server"],
    ["offline", null, null, "offline"],
    ["offline", null, "none", "offline"],
    ["offline", null, "mock", "simulated"],
    ["offline", null, "browser", "browser"],
    ["offline", run("server", false), "mock", "simulated"],
    ["offline", run("mock", true), "browser", "simulated"],
    // An older fallback run tells only when the fallback itself is unknown.
    ["offline", run("browser", false), "mock", "simulated"],
    ["offline", run("browser", false), null, "browser"],
    ["offline", run("browser", false), "none", "offline"],
    ["unknown", null, "mock", "unknown"],
    ["unknown", run("server", false), null, "server"],
  ])("%s, last run %j, fallback %j → %s", (status, lastRun, fallback, location) => {
    expect(locate(status, lastRun, fallback)).toBe(location);
  });
});

describe("the backend badge", () => {
  it.each([
    [["mock"], "Simulated: server offline"],
    [["browser", "mock"], "Runs in your browser"],
    [[], "Offline"],
  ] as const)("reads a given client's fallbacks %j while offline: %s", (fallbacks, label) => {
    const { badge } = renderBadge(createFakeClient({ status: "offline", fallbacks }));
    expect(badge()).toHaveTextContent(label);
  });

  it("says checking, and why the last check failed, until a health check succeeds", () => {
    const client = createFakeClient({ status: "unknown", fallbacks: ["mock"] });
    const { badge } = renderBadge(client);
    expect(badge()).toHaveTextContent("Checking server…");
    expect(badge()).not.toHaveAttribute("title");
    const message = "The server at http://127.0.0.1:5000 answered, but … (CORS)";
    act(() => client.setStatus("unknown", { kind: "cors", message }));
    expect(badge()).toHaveTextContent("Checking server…");
    expect(badge()).toHaveAttribute("title", message);
    act(() => client.setStatus("online"));
    expect(badge()).toHaveTextContent("Runs on the server");
    expect(badge()).not.toHaveAttribute("title");
  });

  it("believes the client's fallbacks over the fallback prop", () => {
    // What createClient({ fallback: ["browser", "mock"] }) reports without a browser backend.
    const { badge } = renderBadge(createFakeClient({ status: "offline", fallbacks: ["mock"] }), {
      fallback: "browser",
    });
    expect(badge()).toHaveTextContent("Simulated: server offline");
    expect(badge()).toHaveAttribute("data-state", "simulated");
  });

  it("uses the fallback prop for a client without fallbacks", () => {
    const { badge } = renderBadge(createFakeClient({ status: "offline", fallbacks: null }), {
      fallback: "mock",
    });
    expect(badge()).toHaveTextContent("Simulated: server offline");
  });

  it.each([
    ["mock", "Simulated: server offline", "simulated"],
    ["browser", "Runs in your browser", "browser"],
  ] as const)(
    "does not claim the server after a run fell back to %s while online",
    async (backend, label, state) => {
      const client = createFakeClient({ status: "online", fallbacks: [backend] });
      client.backend = backend;
      const { badge, run } = renderBadge(client);
      expect(badge()).toHaveTextContent("Runs on the server");
      await run();
      expect(badge()).toHaveTextContent(label);
      expect(badge()).toHaveAttribute("data-state", state);
      expect(badge()).not.toHaveTextContent("Runs on the server");
    },
  );

  it("trusts the status again once it changed after the fallback run", async () => {
    const client = createFakeClient({ status: "degraded", fallbacks: ["mock"] });
    client.backend = "mock";
    const { badge, run } = renderBadge(client);
    await run();
    expect(badge()).toHaveTextContent("Simulated: server offline");
    act(() => client.setStatus("offline"));
    expect(badge()).toHaveTextContent("Simulated: server offline");
    act(() => client.setStatus("online"));
    expect(badge()).toHaveTextContent("Runs on the server");
  });

  it("says the server again after a run the server took", async () => {
    const client = createFakeClient({ status: "online", fallbacks: ["mock"] });
    client.backend = "mock";
    const user = userEvent.setup();
    const { badge, run } = renderBadge(client);
    await run(user);
    expect(badge()).toHaveTextContent("Simulated: server offline");
    client.backend = "server";
    await user.click(screen.getByRole("button", { name: "succeeded" }));
    await waitFor(() => expect(badge()).toHaveTextContent("Runs on the server"));
    expect(client.requests).toHaveLength(2);
  });
});
