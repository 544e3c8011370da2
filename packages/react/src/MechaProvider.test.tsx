import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { type ReactNode, StrictMode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CodeRunner } from "./codeRunner/CodeRunner";
import { MechaProvider } from "./MechaProvider";
import { createFakeClient, type FakeClient } from "./test/fakeClient";
import { useBackendStatus } from "./useBackendStatus";
import { useMechaClient } from "./useMechaClient";
import { useRun } from "./useRun";

const created: FakeClient[] = [];
vi.mock("@mecha/client", () => ({
  // A client without `fallbacks`, so labels can only come from the options.
  createClient: vi.fn((options: { fallback?: unknown }) => {
    const client = createFakeClient({
      status: options.fallback ? "offline" : "online",
      fallbacks: null,
    });
    created.push(client);
    return client;
  }),
}));

afterEach(() => {
  vi.useRealTimers();
  created.length = 0;
});

function HostQuery() {
  const { data } = useQuery({ queryKey: ["todos"], queryFn: async () => "host data" });
  return <p>{data}</p>;
}

function Runner() {
  const run = useRun();
  return (
    <button type="button" aria-busy={run.isRunning} onClick={() => run.start("print(1)")}>
      {run.state}
    </button>
  );
}

function wrapper(client: FakeClient, extra: Partial<Parameters<typeof MechaProvider>[0]> = {}) {
  return ({ children }: { children: ReactNode }) => (
    <MechaProvider client={client} {...extra}>
      {children}
    </MechaProvider>
  );
}

describe("<MechaProvider> and its hooks", () => {
  it("explains a hook used outside the provider", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => renderHook(() => useMechaClient())).toThrow(
      /useMechaClient must be used within <MechaProvider>/,
    );
    expect(() => renderHook(() => useRun())).toThrow(/useRun must be used within <MechaProvider>/);
  });

  it("explains a provider without a client", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => render(<MechaProvider />)).toThrow(/needs a `client`/);
  });

  it("gives the client to hooks", () => {
    const client = createFakeClient();
    const { result } = renderHook(() => useMechaClient(), { wrapper: wrapper(client) });
    expect(result.current).toBe(client);
  });

  it("creates a client from options and disposes of it on unmount", () => {
    const { result, unmount } = renderHook(() => useMechaClient(), {
      wrapper: ({ children }) => (
        <MechaProvider options={{ baseUrl: "/api/mecha" }}>{children}</MechaProvider>
      ),
    });
    expect(created).toHaveLength(1);
    expect(result.current).toBe(created[0]);
    unmount();
    expect(created[0]?.disposed).toBe(true);
  });

  it("keeps a working client from options under StrictMode's remounting", () => {
    const { result } = renderHook(() => useMechaClient(), {
      wrapper: ({ children }) => (
        <StrictMode>
          <MechaProvider options={{ baseUrl: "/api/mecha" }}>{children}</MechaProvider>
        </StrictMode>
      ),
    });
    // The client in use survived the simulated unmount and remount.
    expect((result.current as FakeClient).disposed).toBe(false);
  });

  it("reads status from the client's own state machine", async () => {
    const client = createFakeClient({ status: "unknown" });
    const { result } = renderHook(() => useBackendStatus(), { wrapper: wrapper(client) });
    expect(result.current).toMatchObject({ status: "unknown", location: "unknown" });
    act(() => client.setStatus("online"));
    expect(result.current).toMatchObject({ status: "online", location: "server" });
    act(() => client.setStatus("offline"));
    expect(result.current).toMatchObject({ status: "offline", location: "offline" });
  });

  it("labels offline runs by the fallback the client was made with", () => {
    const { result } = renderHook(() => useBackendStatus(), {
      wrapper: ({ children }) => (
        <MechaProvider options={{ baseUrl: "/x", fallback: "mock" }}>{children}</MechaProvider>
      ),
    });
    expect(result.current.location).toBe("simulated");
  });

  it("does not promise the browser from options without a browser backend", () => {
    render(
      <MechaProvider options={{ baseUrl: "/x", fallback: ["browser", "mock"] }}>
        <CodeRunner.Status />
      </MechaProvider>,
    );
    expect(screen.getByRole("status", { name: "Backend" })).toHaveTextContent(
      "Simulated: server offline",
    );
  });

  it("checks health on mount, when the window regains focus, and when the network returns", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const client = createFakeClient();
    renderHook(() => useBackendStatus(), { wrapper: wrapper(client) });
    await waitFor(() => expect(client.healthChecks).toBe(1));

    vi.setSystemTime(Date.now() + 10_000);
    act(() => {
      window.dispatchEvent(new Event("visibilitychange"));
    });
    await waitFor(() => expect(client.healthChecks).toBe(2));

    vi.setSystemTime(Date.now() + 10_000);
    act(() => {
      window.dispatchEvent(new Event("offline"));
      window.dispatchEvent(new Event("online"));
    });
    await waitFor(() => expect(client.healthChecks).toBe(3));
  });

  it("checks health on demand", async () => {
    const client = createFakeClient();
    const { result } = renderHook(() => useBackendStatus(), {
      wrapper: wrapper(client, { healthChecks: false }),
    });
    expect(client.healthChecks).toBe(0);
    await act(() => result.current.check());
    expect(client.healthChecks).toBe(1);
  });

  it("uses the host's QueryClient under 'mecha' keys and leaves its queries alone", async () => {
    const queryClient = new QueryClient();
    const client = createFakeClient();
    render(
      <QueryClientProvider client={queryClient}>
        <MechaProvider client={client}>
          <HostQuery />
        </MechaProvider>
      </QueryClientProvider>,
    );
    expect(await screen.findByText("host data")).toBeInTheDocument();
    await waitFor(() => expect(client.healthChecks).toBe(1));
    const keys = queryClient
      .getQueryCache()
      .getAll()
      .map((query) => query.queryKey);
    expect(keys).toContainEqual(["todos"]);
    expect(keys.filter((key) => key[0] !== "todos").every((key) => key[0] === "mecha")).toBe(true);
  });

  it("runs code with useRun: queued, running, then the result, with output", async () => {
    const client = createFakeClient({
      script: async (run) => {
        run.stdout("hi\n");
        return { status: "succeeded" };
      },
    });
    const onResult = vi.fn();
    const { result } = renderHook(
      () => useRun({ request: { limits: { timeoutMs: 1000 } }, onResult }),
      { wrapper: wrapper(client) },
    );
    expect(result.current.state).toBe("idle");
    let outcome: unknown;
    await act(async () => {
      outcome = await result.current.start("print('hi')");
    });
    expect(outcome).toMatchObject({ status: "succeeded", backend: "server" });
    expect(result.current.state).toBe("succeeded");
    expect(result.current.isRunning).toBe(false);
    expect(result.current.output.toString()).toBe("hi");
    expect(client.requests[0]).toEqual({
      language: "python",
      code: "print('hi')",
      limits: { timeoutMs: 1000 },
    });
    expect(onResult).toHaveBeenCalledWith(expect.objectContaining({ status: "succeeded" }));
  });

  it("reports failure to run as state error, without throwing", async () => {
    const client = createFakeClient();
    client.failWith = new Error("offline");
    const onError = vi.fn();
    const { result } = renderHook(() => useRun({ onError }), { wrapper: wrapper(client) });
    await act(async () => {
      expect(await result.current.start("x")).toBeNull();
    });
    expect(result.current.state).toBe("error");
    expect(result.current.error?.message).toBe("offline");
    expect(onError).toHaveBeenCalled();
  });

  it("remembers a fallback run so the status says where code ran", async () => {
    const client = createFakeClient({ status: "offline" });
    client.backend = "browser";
    const { result } = renderHook(() => ({ run: useRun(), status: useBackendStatus() }), {
      wrapper: wrapper(client),
    });
    expect(result.current.status.location).toBe("offline");
    await act(async () => {
      await result.current.run.start("print(1)");
    });
    expect(result.current.status.location).toBe("browser");
  });

  it("stops the run when the component unmounts", async () => {
    let cancelled = false;
    const client = createFakeClient({
      script: async (run) => {
        await run.cancelled;
        cancelled = true;
      },
    });
    const { result, unmount } = renderHook(() => useRun(), { wrapper: wrapper(client) });
    act(() => {
      void result.current.start("while True: pass");
    });
    await waitFor(() => expect(result.current.state).toBe("running"));
    unmount();
    await waitFor(() => expect(cancelled).toBe(true));
  });

  it("works with user events end to end", async () => {
    const client = createFakeClient();
    render(
      <MechaProvider client={client}>
        <Runner />
      </MechaProvider>,
    );
    await userEvent.setup().click(screen.getByRole("button", { name: "idle" }));
    expect(await screen.findByRole("button", { name: "succeeded" })).toBeInTheDocument();
  });
});
