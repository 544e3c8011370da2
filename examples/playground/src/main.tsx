import { CodeRunner, MechaProvider, useBackendStatus } from "@mecha/react";
import "@mecha/react/styles.css";
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { type BrowserPython, loadBrowserPython, useBrowserPython } from "./browserPython";
import { EXAMPLES, SESSION_CELLS } from "./examples";
import "./playground.css";
import {
  type LimitOption,
  outputLimitOptions,
  type RuntimeLimitsState,
  timeLimitOptions,
  useRuntimeLimits,
} from "./runtimeLimits";
import { SessionNotebook } from "./SessionNotebook";

const DEFAULT_ENDPOINT = "/api/mecha";

function readEndpoint(): string {
  return new URLSearchParams(window.location.search).get("endpoint") || DEFAULT_ENDPOINT;
}

/** One program at a time, or cells that share a session (`?mode=session`). */
type Mode = "run" | "session";

function readMode(): Mode {
  return new URLSearchParams(window.location.search).get("mode") === "session" ? "session" : "run";
}

/** Sets (or, at its default, removes) a query parameter of the page's URL, without reloading. */
function setQuery(name: string, value: string | null): void {
  const params = new URLSearchParams(window.location.search);
  if (value === null) params.delete(name);
  else params.set(name, value);
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

const LOCATION_TEXT = {
  server: "Connected: programs run on the server",
  browser: "Server unreachable: programs run in your browser",
  simulated: "Server unreachable: output is simulated, not real",
  offline: "Server unreachable: programs cannot run",
  unknown: "Checking the server…",
} as const;

function describeBrowserPython(python: BrowserPython | null): string {
  if (!python || python.state === "idle") return " · Python in your browser loads when needed";
  if (python.state === "loading") return " · loading Python in your browser…";
  if (python.state === "failed") return " · Python could not be loaded in your browser";
  const { runtime, isolated } = python;
  const loaded = runtime ? `, loaded in ${(runtime.loadMs / 1000).toFixed(1)} s` : "";
  return ` · Python ${runtime?.python} (Pyodide ${runtime?.pyodide}${loaded}) in your browser${
    isolated ? "" : " · input() needs stdin given up front (page not cross-origin isolated)"
  }`;
}

function BackendBanner({ endpoint }: { endpoint: string }) {
  const { status, health, error, location, isChecking, check } = useBackendStatus();
  const python = useBrowserPython(location === "browser");
  const runtime = health?.runtimes[0];
  return (
    <section className="pg-status" data-location={location} aria-label="Backend status">
      <p>
        <strong data-testid="backend-location">{LOCATION_TEXT[location]}</strong>
        <span className="pg-detail">
          {" "}
          · {endpoint} · status {status}
          {runtime ? ` · Python ${runtime.version} · isolation: ${runtime.isolation}` : ""}
          {location === "browser" ? describeBrowserPython(python) : ""}
        </span>
        {error && (
          <span className="pg-detail" data-testid="backend-error" data-kind={error.kind}>
            <br />
            {error.message}
          </span>
        )}
      </p>
      <button type="button" onClick={() => void check()} disabled={isChecking}>
        {isChecking ? "Checking…" : "Check now"}
      </button>
    </section>
  );
}

function EndpointForm({ endpoint, onChange }: { endpoint: string; onChange(url: string): void }) {
  const [draft, setDraft] = useState(endpoint);
  useEffect(() => setDraft(endpoint), [endpoint]);
  return (
    <form
      className="pg-endpoint"
      onSubmit={(event) => {
        event.preventDefault();
        onChange(draft.trim() || DEFAULT_ENDPOINT);
      }}
    >
      <label htmlFor="endpoint">Backend URL</label>
      <input
        id="endpoint"
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        spellCheck={false}
        placeholder={DEFAULT_ENDPOINT}
      />
      <button type="submit">Connect</button>
    </form>
  );
}

/** A menu for one limit; its choices come from the server's defaults and maxima when it says. */
function LimitSelect(props: {
  label: string;
  options: LimitOption[];
  value: number | null;
  onChange(value: number | null): void;
  limits: RuntimeLimitsState;
}) {
  const { limits } = props;
  return (
    <label
      className="pg-example"
      title={
        limits.state === "unknown"
          ? `The server caps it at its maximum (${limits.reason}).`
          : "Up to the server's maximum."
      }
    >
      {props.label}{" "}
      <select
        value={props.value ?? ""}
        onChange={(event) => props.onChange(event.target.value ? Number(event.target.value) : null)}
      >
        {props.options.map((option) => (
          <option key={option.label} value={option.value ?? ""}>
            {option.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function App() {
  const [endpoint, setEndpoint] = useState(readEndpoint);
  const [mode, setMode] = useState(readMode);
  const [example, setExample] = useState(0);
  const [timeLimit, setTimeLimit] = useState<number | null>(30_000);
  const [outputLimit, setOutputLimit] = useState<number | null>(null);
  const limits = useRuntimeLimits(endpoint);
  const known = limits.state === "ready" ? limits.limits : null;
  const current = EXAMPLES[example]!;

  const connect = (url: string) => {
    setQuery("endpoint", url === DEFAULT_ENDPOINT ? null : url);
    setEndpoint(url);
  };
  const switchMode = (next: Mode) => {
    setQuery("mode", next === "run" ? null : next);
    setMode(next);
  };
  const runLimits = {
    ...(timeLimit === null ? {} : { timeoutMs: timeLimit }),
    ...(outputLimit === null ? {} : { outputBytes: outputLimit }),
  };

  return (
    // A new provider (and client) for each endpoint.
    <MechaProvider
      key={endpoint}
      options={{ baseUrl: endpoint, fallback: ["browser", "mock"], browser: loadBrowserPython }}
    >
      <main className="pg-main mecha-theme">
        <header className="pg-header">
          <h1>Mecha playground</h1>
          <p>
            Write Python, run it in a sandbox on the server — or, when the server is away, in your
            browser — and see exactly where it ran.
          </p>
        </header>
        <BackendBanner endpoint={endpoint} />
        <div className="pg-controls">
          <EndpointForm endpoint={endpoint} onChange={connect} />
          <label className="pg-example">
            Mode{" "}
            <select value={mode} onChange={(event) => switchMode(event.target.value as Mode)}>
              <option value="run">One program</option>
              <option value="session">Session: cells share variables</option>
            </select>
          </label>
          {mode === "run" && (
            <label className="pg-example">
              Example{" "}
              <select value={example} onChange={(event) => setExample(Number(event.target.value))}>
                {EXAMPLES.map((entry, index) => (
                  <option key={entry.title} value={index}>
                    {entry.title}
                  </option>
                ))}
              </select>
            </label>
          )}
          <LimitSelect
            label="Time limit"
            options={timeLimitOptions(known)}
            value={timeLimit}
            onChange={setTimeLimit}
            limits={limits}
          />
          <LimitSelect
            label="Output limit"
            options={outputLimitOptions(known)}
            value={outputLimit}
            onChange={setOutputLimit}
            limits={limits}
          />
        </div>
        {mode === "run" ? (
          <CodeRunner key={current.title} defaultCode={current.code} limits={runLimits} />
        ) : (
          <SessionNotebook cells={SESSION_CELLS} limits={runLimits} />
        )}
        <footer className="pg-footer">
          Ctrl/⌘+Enter runs the program. Point the page at another backend with{" "}
          <code>?endpoint=http://localhost:5000</code>.
        </footer>
      </main>
    </MechaProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
