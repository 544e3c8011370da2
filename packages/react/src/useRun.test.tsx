import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { CodeRunner } from "./codeRunner/CodeRunner";
import type { RunOutcome } from "./internal/clientTypes";
import { MechaProvider } from "./MechaProvider";
import { createFakeClient, deferred, type FakeClient } from "./test/fakeClient";
import { useBackendStatus } from "./useBackendStatus";
import { useRun } from "./useRun";

/** Every `start()` the runner made, in order: each settles once its run is over in every way. */
type Starts = Promise<unknown>[];

function Runner({ onResult, starts }: { onResult: (outcome: RunOutcome) => void; starts: Starts }) {
  const run = useRun({ onResult });
  return (
    <>
      <button type="button" onClick={() => starts.push(run.start("print(1)"))}>
        Run
      </button>
      <p role="status" aria-label="Run state">
        {run.state}
      </p>
    </>
  );
}

function LastBackend() {
  const { lastBackend } = useBackendStatus();
  return (
    <p role="status" aria-label="Last backend">
      {lastBackend ?? "none"}
    </p>
  );
}

function App({
  client,
  onResult,
  starts,
  runner = true,
}: {
  client: FakeClient;
  onResult: () => void;
  starts: Starts;
  runner?: boolean;
}) {
  return (
    <MechaProvider client={client} healthChecks={false}>
      <CodeRunner.Status />
      <LastBackend />
      {runner && <Runner onResult={onResult} starts={starts} />}
    </MechaProvider>
  );
}

const status = (name: string) => screen.getByRole("status", { name });

/** Waits until a run is over in every way (its result handled), with React's updates done. */
async function over(start: Promise<unknown> | undefined) {
  expect(start).toBeDefined();
  await act(() => start);
}

describe("useRun reports only the run it follows", () => {
  it("ignores the result of run A when it arrives after run B's", async () => {
    const lateA = deferred();
    let calls = 0;
    const client = createFakeClient({
      fallbacks: ["mock"],
      script: async () => {
        if (++calls === 1) await lateA.promise;
      },
    });
    // A runs on the mock and does not stop when cancelled, so its result comes last.
    client.backend = "mock";
    client.honoursCancel = false;
    const onResult = vi.fn();
    const starts: Starts = [];
    const user = userEvent.setup();
    render(<App client={client} onResult={onResult} starts={starts} />);

    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(status("Run state")).toHaveTextContent("running"));
    client.backend = "server";
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(status("Run state")).toHaveTextContent("succeeded"));
    expect(onResult).toHaveBeenCalledOnce();
    expect(onResult).toHaveBeenLastCalledWith(expect.objectContaining({ id: "run-2" }));
    expect(status("Last backend")).toHaveTextContent("server");

    lateA.resolve();
    await over(starts[0]);
    expect(onResult).toHaveBeenCalledOnce();
    expect(status("Last backend")).toHaveTextContent("server");
    expect(status("Backend")).toHaveTextContent("Runs on the server");
  });

  it("ignores run A's result when it settles while run B still runs", async () => {
    const gateB = deferred();
    let calls = 0;
    const client = createFakeClient({
      fallbacks: ["mock"],
      script: async () => {
        if (++calls === 1) await new Promise(() => {});
        else await gateB.promise;
      },
    });
    client.backend = "mock";
    const onResult = vi.fn();
    const starts: Starts = [];
    const user = userEvent.setup();
    render(<App client={client} onResult={onResult} starts={starts} />);

    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(status("Run state")).toHaveTextContent("running"));
    client.backend = "server";
    // Starting B cancels A, whose (cancelled, mock) result then arrives first.
    await user.click(screen.getByRole("button", { name: "Run" }));
    await over(starts[0]);
    expect(onResult).not.toHaveBeenCalled();
    expect(status("Last backend")).toHaveTextContent("none");

    gateB.resolve();
    await waitFor(() => expect(status("Run state")).toHaveTextContent("succeeded"));
    expect(onResult).toHaveBeenCalledOnce();
    expect(status("Last backend")).toHaveTextContent("server");
  });

  it("reports nothing once the component that started the run has unmounted", async () => {
    const gate = deferred();
    const client = createFakeClient({ fallbacks: ["mock"], script: () => gate.promise });
    client.backend = "mock";
    client.honoursCancel = false;
    const onResult = vi.fn();
    const starts: Starts = [];
    const user = userEvent.setup();
    const { rerender } = render(<App client={client} onResult={onResult} starts={starts} />);
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(status("Run state")).toHaveTextContent("running"));

    rerender(<App client={client} onResult={onResult} starts={starts} runner={false} />);
    gate.resolve();
    await over(starts[0]);
    expect(onResult).not.toHaveBeenCalled();
    expect(status("Last backend")).toHaveTextContent("none");
    expect(status("Backend")).toHaveTextContent("Runs on the server");
  });
});

describe("a CodeRunner's badge while its run goes on", () => {
  it("says where the run is going on when it fell back, before it ends", async () => {
    const gate = deferred();
    const client = createFakeClient({ fallbacks: ["browser"], script: () => gate.promise });
    // The server failed this run before it started, and the client still counts it online.
    client.backend = "browser";
    const user = userEvent.setup();
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="slow()" />
      </MechaProvider>,
    );
    expect(status("Backend")).toHaveTextContent("Runs on the server");
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(status("Run status")).toHaveTextContent("Running…"));
    expect(status("Backend")).toHaveTextContent("Runs in your browser");
    expect(status("Backend")).toHaveAttribute("data-state", "browser");
    gate.resolve();
    await waitFor(() => expect(status("Run status")).toHaveTextContent(/^Finished/));
    expect(status("Backend")).toHaveTextContent("Runs in your browser");
  });
});
