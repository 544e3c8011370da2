"use client";

import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import type { RunLimits, RunRequest } from "@mecha/protocol";
import {
  type ButtonHTMLAttributes,
  createContext,
  forwardRef,
  type HTMLAttributes,
  type KeyboardEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import type { RunOutcome } from "../internal/clientTypes";
import { composeEventHandlers, cx, isModEnter } from "../internal/dom";
import { Slot } from "../internal/Slot";
import { MechaReactError } from "../MechaReactError";
import { Terminal, type TerminalProps } from "../terminal/Terminal";
import { useBackendStatus } from "../useBackendStatus";
import { type UseRunResult, useRun } from "../useRun";
import { type ErrorMark, editorExtensions, setErrorMark } from "./editorExtensions";
import { describeRun, formatDuration, formatMemory, LOCATION_LABELS } from "./format";

interface CodeRunnerContextValue {
  code: string;
  setCode(code: string): void;
  run: UseRunResult;
  /** Runs the code, or stops the run in progress. */
  toggle(): void;
  errorMark: ErrorMark | null;
}

const CodeRunnerContext = createContext<CodeRunnerContextValue | null>(null);

/**
 * The state of the surrounding `<CodeRunner.Root>`: its code, its run (from `useRun`) and
 * `toggle()`. For custom parts.
 */
export function useCodeRunner(): CodeRunnerContextValue {
  const value = useContext(CodeRunnerContext);
  if (!value) {
    throw new MechaReactError(
      "invalid_props",
      "useCodeRunner must be used within <CodeRunner.Root> (or <CodeRunner>).",
    );
  }
  return value;
}

function usePart(part: string): CodeRunnerContextValue {
  const value = useContext(CodeRunnerContext);
  if (!value) {
    throw new MechaReactError("invalid_props", `<${part}> must be used within <CodeRunner.Root>.`);
  }
  return value;
}

export interface CodeRunnerRootProps extends Omit<HTMLAttributes<HTMLDivElement>, "onError"> {
  /** The code, controlled. Pair with `onCodeChange`. */
  code?: string;
  /** The initial code, uncontrolled. */
  defaultCode?: string;
  /** Called with the new code after every edit. */
  onCodeChange?: (code: string) => void;
  /** Limits for each run (clamped by the server), e.g. `{ timeoutMs: 5000, memoryMb: 128 }`. */
  limits?: RunLimits;
  /** Other request fields for each run: `stdin`, `files`, `args`. */
  request?: Omit<Partial<RunRequest>, "code" | "limits">;
  /** Called when a run ends, whatever its status (a failing program is still a result). */
  onResult?: (outcome: RunOutcome) => void;
  /** Called when no backend could run the code. */
  onError?: (error: Error) => void;
}

/**
 * Holds the code and its run for the parts. Renders a `<div role="group">` named "Code runner"
 * (override with `aria-label`); Ctrl/Cmd+Enter anywhere inside runs or stops.
 */
const CodeRunnerRoot = forwardRef<HTMLDivElement, CodeRunnerRootProps>(function CodeRunnerRoot(
  {
    code: controlledCode,
    defaultCode = "",
    onCodeChange,
    limits,
    request,
    onResult,
    onError,
    className,
    onKeyDown,
    children,
    "aria-label": ariaLabel = "Code runner",
    ...rest
  },
  ref,
) {
  const [uncontrolledCode, setUncontrolledCode] = useState(defaultCode);
  const code = controlledCode ?? uncontrolledCode;
  const codeRef = useRef(code);
  codeRef.current = code;
  const run = useRun({
    request: { ...request, ...(limits ? { limits } : {}) },
    onResult,
    ...(onError ? { onError } : {}),
  });

  const setCode = useCallback(
    (next: string) => {
      codeRef.current = next;
      if (controlledCode === undefined) setUncontrolledCode(next);
      onCodeChange?.(next);
    },
    [controlledCode, onCodeChange],
  );

  const { isRunning, start, stop } = run;
  const toggle = useCallback(() => {
    if (isRunning) void stop();
    else void start(codeRef.current);
  }, [isRunning, start, stop]);

  const failure = run.result?.error;
  const errorMark = useMemo<ErrorMark | null>(
    () =>
      failure?.line ? { line: failure.line, message: `${failure.type}: ${failure.message}` } : null,
    [failure],
  );

  const value = useMemo<CodeRunnerContextValue>(
    () => ({ code, setCode, run, toggle, errorMark }),
    [code, setCode, run, toggle, errorMark],
  );

  return (
    <CodeRunnerContext.Provider value={value}>
      {/* biome-ignore lint/a11y/useSemanticElements: a <fieldset> would frame a terminal as a form */}
      <div
        ref={ref}
        className={cx("mecha-codeRunner", className)}
        data-state={run.state}
        data-mecha-scope=""
        role="group"
        aria-label={ariaLabel}
        onKeyDown={composeEventHandlers(onKeyDown, (event: KeyboardEvent<HTMLDivElement>) => {
          if (isModEnter(event)) {
            event.preventDefault();
            toggle();
          }
        })}
        {...rest}
      >
        {children}
      </div>
    </CodeRunnerContext.Provider>
  );
});

export interface CodeRunnerEditorProps extends HTMLAttributes<HTMLDivElement> {
  /**
   * Accessible name of the editing area.
   * @default "Python code"
   */
  label?: string;
  /** Prevents editing. */
  readOnly?: boolean;
}

/**
 * A CodeMirror 6 editor for Python: highlighting, indentation, Tab to indent (Escape then Tab
 * leaves), Ctrl/Cmd+Enter to run, and the failing line marked after an exception. Before it
 * mounts (and on the server) the code shows as plain text.
 */
const CodeRunnerEditor = forwardRef<HTMLDivElement, CodeRunnerEditorProps>(
  function CodeRunnerEditor({ label = "Python code", readOnly = false, className, ...rest }, ref) {
    const { code, setCode, toggle, errorMark, run } = usePart("CodeRunner.Editor");
    const hostRef = useRef<HTMLDivElement | null>(null);
    const viewRef = useRef<EditorView | null>(null);
    const [mounted, setMounted] = useState(false);
    const latest = useRef({ setCode, toggle, code });
    latest.current = { setCode, toggle, code };

    useEffect(() => {
      const parent = hostRef.current;
      if (!parent) return;
      const view = new EditorView({
        parent,
        state: EditorState.create({
          doc: latest.current.code,
          extensions: editorExtensions({
            label,
            readOnly,
            onToggleRun: () => latest.current.toggle(),
            onChange: (next) => {
              if (next !== latest.current.code) latest.current.setCode(next);
            },
          }),
        }),
      });
      viewRef.current = view;
      setMounted(true);
      return () => {
        view.destroy();
        viewRef.current = null;
      };
    }, [label, readOnly]);

    // A controlled `code` changed from outside: show it.
    useEffect(() => {
      const view = viewRef.current;
      if (!view) return;
      const current = view.state.doc.toString();
      if (current !== code) {
        view.dispatch({ changes: { from: 0, to: current.length, insert: code } });
      }
    }, [code]);

    // biome-ignore lint/correctness/useExhaustiveDependencies: the view exists once `mounted`
    useEffect(() => {
      viewRef.current?.dispatch({ effects: setErrorMark.of(errorMark) });
    }, [errorMark, mounted]);

    return (
      <div
        ref={ref}
        className={cx("mecha-editor", className)}
        data-state={errorMark ? "error" : mounted ? "ready" : "loading"}
        data-run-state={run.state}
        {...rest}
      >
        <div ref={hostRef} className="mecha-editor-host" />
        {!mounted && (
          <pre className="mecha-editor-fallback">
            <code>{code}</code>
          </pre>
        )}
      </div>
    );
  },
);

export interface CodeRunnerRunButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  /** Render the child element instead of a `<button>`, with this part's behaviour. */
  asChild?: boolean;
  /**
   * Label while idle.
   * @default "Run"
   */
  runLabel?: ReactNode;
  /**
   * Label while running.
   * @default "Stop"
   */
  stopLabel?: ReactNode;
}

/** Runs the code, or stops it while it runs (`aria-busy` then). Shortcut: Ctrl/Cmd+Enter. */
const CodeRunnerRunButton = forwardRef<HTMLButtonElement, CodeRunnerRunButtonProps>(
  function CodeRunnerRunButton(
    { asChild, runLabel = "Run", stopLabel = "Stop", className, onClick, children, ...rest },
    ref,
  ) {
    const { run, toggle } = usePart("CodeRunner.RunButton");
    const Component = asChild ? Slot : "button";
    return (
      <Component
        ref={ref as never}
        type={asChild ? undefined : "button"}
        className={cx("mecha-codeRunner-run", "mecha-button", className)}
        data-state={run.state}
        aria-busy={run.isRunning}
        aria-keyshortcuts="Control+Enter Meta+Enter"
        title={run.isRunning ? "Stop (Ctrl+Enter)" : "Run (Ctrl+Enter)"}
        onClick={composeEventHandlers(onClick, toggle)}
        {...rest}
      >
        {children ?? (run.isRunning ? stopLabel : runLabel)}
      </Component>
    );
  },
);

export interface CodeRunnerOutputProps extends Omit<TerminalProps, "run" | "buffer" | "lines"> {}

/** The run's terminal: streamed output, `input()` prompts, Copy and Clear. */
const CodeRunnerOutput = forwardRef<HTMLDivElement, CodeRunnerOutputProps>(
  function CodeRunnerOutput({ label = "Program output", className, ...rest }, ref) {
    const { run } = usePart("CodeRunner.Output");
    return (
      <Terminal
        ref={ref}
        run={run}
        label={label}
        className={cx("mecha-codeRunner-output", className)}
        {...rest}
      />
    );
  },
);

export interface CodeRunnerStatusProps extends HTMLAttributes<HTMLSpanElement> {}

/**
 * Where code runs, in words and colour: on the server, in the browser, simulated, or offline.
 * Works anywhere under `<MechaProvider>`.
 */
const CodeRunnerStatus = forwardRef<HTMLSpanElement, CodeRunnerStatusProps>(
  function CodeRunnerStatus({ className, children, ...rest }, ref) {
    const { location, status } = useBackendStatus();
    const label =
      location === "server" && status === "degraded"
        ? "Runs on the server (degraded)"
        : LOCATION_LABELS[location];
    return (
      <span
        ref={ref}
        role="status"
        aria-label="Backend"
        className={cx("mecha-status", className)}
        data-state={location}
        data-status={status}
        {...rest}
      >
        <span aria-hidden="true" className="mecha-status-dot" />
        {children ?? label}
      </span>
    );
  },
);

export interface CodeRunnerStatsProps extends HTMLAttributes<HTMLDivElement> {}

/**
 * The run's state in words (announced), then time, CPU, memory, exit status and backend; for
 * simulated output only that it was simulated.
 */
const CodeRunnerStats = forwardRef<HTMLDivElement, CodeRunnerStatsProps>(function CodeRunnerStats(
  { className, ...rest },
  ref,
) {
  const { run } = usePart("CodeRunner.Stats");
  const { result } = run;
  return (
    <div
      ref={ref}
      className={cx("mecha-codeRunner-stats", className)}
      data-state={run.state}
      {...rest}
    >
      <p role="status" aria-label="Run status" className="mecha-codeRunner-message">
        {describeRun(run)}
      </p>
      {result && result.backend === "mock" && (
        <dl className="mecha-codeRunner-figures">
          <div>
            <dt>Ran on</dt>
            <dd data-state="mock">simulation</dd>
          </div>
        </dl>
      )}
      {result && result.backend !== "mock" && (
        <dl className="mecha-codeRunner-figures">
          <div>
            <dt>Time</dt>
            <dd>{formatDuration(result.durationMs)}</dd>
          </div>
          {result.cpuTimeMs !== null && (
            <div>
              <dt>CPU</dt>
              <dd>{formatDuration(result.cpuTimeMs)}</dd>
            </div>
          )}
          {result.memoryKb !== null && (
            <div>
              <dt>Memory</dt>
              <dd>{formatMemory(result.memoryKb)}</dd>
            </div>
          )}
          <div>
            <dt>Exit</dt>
            <dd>
              {result.signal
                ? `signal ${result.signal}`
                : result.exitCode !== null
                  ? `code ${result.exitCode}`
                  : "none"}
            </dd>
          </div>
          <div>
            <dt>Ran on</dt>
            <dd data-state={result.backend}>{result.backend}</dd>
          </div>
        </dl>
      )}
    </div>
  );
});

export interface CodeRunnerProps extends CodeRunnerRootProps {
  /** Props for the editor part. */
  editorProps?: CodeRunnerEditorProps;
  /** Props for the output terminal. */
  outputProps?: CodeRunnerOutputProps;
  /** Extra toolbar content, after the Run button. */
  actions?: ReactNode;
}

/**
 * An editor, a Run/Stop button, where the code runs, a terminal and the run's figures, laid out.
 * For another layout, compose `CodeRunner.Root` with its parts.
 * @example
 * <CodeRunner defaultCode={'name = input("Name? ")\nprint("Hi", name)'} limits={{ timeoutMs: 5000 }} />
 */
const CodeRunnerComponent = forwardRef<HTMLDivElement, CodeRunnerProps>(function CodeRunner(
  { editorProps, outputProps, actions, children, ...props },
  ref,
) {
  return (
    <CodeRunnerRoot ref={ref} {...props}>
      <div className="mecha-codeRunner-toolbar">
        <CodeRunnerStatus />
        <span className="mecha-codeRunner-spacer" />
        {actions}
        <CodeRunnerRunButton />
      </div>
      <CodeRunnerEditor {...editorProps} />
      <CodeRunnerOutput {...outputProps} />
      <CodeRunnerStats />
      {children}
    </CodeRunnerRoot>
  );
});

type CodeRunnerCompound = typeof CodeRunnerComponent & {
  Root: typeof CodeRunnerRoot;
  Editor: typeof CodeRunnerEditor;
  RunButton: typeof CodeRunnerRunButton;
  Output: typeof CodeRunnerOutput;
  Status: typeof CodeRunnerStatus;
  Stats: typeof CodeRunnerStats;
};

export const CodeRunner = Object.assign(CodeRunnerComponent, {
  Root: CodeRunnerRoot,
  Editor: CodeRunnerEditor,
  RunButton: CodeRunnerRunButton,
  Output: CodeRunnerOutput,
  Status: CodeRunnerStatus,
  Stats: CodeRunnerStats,
}) as CodeRunnerCompound;

export {
  CodeRunnerEditor,
  CodeRunnerOutput,
  CodeRunnerRoot,
  CodeRunnerRunButton,
  CodeRunnerStats,
  CodeRunnerStatus,
};
