"use client";

import {
  createTerminalBuffer,
  type RunState,
  type TerminalBuffer,
  type TerminalLine,
  type TerminalLineInput,
} from "@mecha/client/run-store";
import {
  measureElement as measureDomElement,
  observeElementRect,
  useVirtualizer,
  type Virtualizer,
} from "@tanstack/react-virtual";
import {
  type ButtonHTMLAttributes,
  createContext,
  type FormHTMLAttributes,
  forwardRef,
  type HTMLAttributes,
  type InputHTMLAttributes,
  type KeyboardEvent,
  memo,
  type ReactNode,
  type UIEvent,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type WheelEvent,
} from "react";
import {
  composeEventHandlers,
  cx,
  useComposedRefs,
  useIsomorphicLayoutEffect,
} from "../internal/dom";
import { Slot } from "../internal/Slot";
import { MechaReactError } from "../MechaReactError";
import { parseAnsi } from "./parseAnsi";
import { useBufferVersion } from "./useBufferVersion";

/** What `<Terminal run>` needs from `useRun`'s result. */
export interface TerminalRun {
  output: TerminalBuffer;
  state: RunState;
  prompt: string | null;
  sendInput(text: string): Promise<void>;
  sendEof(): Promise<void>;
}

/** `idle`, `running` (a program is going), or `waiting` (it waits in `input()`). */
export type TerminalState = "idle" | "running" | "waiting";

interface TerminalContextValue {
  buffer: TerminalBuffer;
  state: TerminalState;
  prompt: string | null;
  label: string;
  /** Resolves false when the text could not be sent (the run's transcript says why). */
  submitInput: ((text: string) => Promise<boolean>) | null;
  sendEof: (() => void) | null;
  clear: (() => void) | null;
  following: boolean;
  setFollowing(following: boolean): void;
  /** Scrolls the viewport to the newest line and follows new output again. */
  jumpToLatest(): void;
  registerJump(jump: (() => void) | null): void;
  rootRef: { current: HTMLDivElement | null };
}

const TerminalContext = createContext<TerminalContextValue | null>(null);

function useTerminalContext(part: string): TerminalContextValue {
  const value = useContext(TerminalContext);
  if (!value) {
    throw new MechaReactError("invalid_props", `<${part}> must be used within <Terminal.Root>.`);
  }
  return value;
}

export interface TerminalRootProps extends HTMLAttributes<HTMLDivElement> {
  /** A run from `useRun`: its output, prompts and input, all wired up. */
  run?: TerminalRun;
  /** A transcript to show (e.g. from `createTerminalBuffer`), when not using `run`. */
  buffer?: TerminalBuffer;
  /**
   * Controlled plain lines (each entry one line; ANSI colours and `\r` are honoured). Appending
   * to the array appends to the transcript; any other change redraws it.
   */
  lines?: ReadonlyArray<TerminalLineInput>;
  /** Shows the input line with this prompt (when not using `run`); null hides it. */
  prompt?: string | null;
  /** Called with the text the user submitted in the input line (when not using `run`). */
  onSubmitInput?: (text: string) => void;
  /** Called when the user presses Ctrl+D in an empty input line (when not using `run`). */
  onEof?: () => void;
  /**
   * Called when the user clears the terminal. With `run` or `buffer` the transcript is emptied
   * anyway; with `lines`, clearing is up to you (the Clear button shows only with this prop).
   */
  onClear?: () => void;
  /**
   * Accessible name of the output log.
   * @default "Terminal output"
   */
  label?: string;
  /**
   * With `lines` (not `run` or `buffer`, which have their own): caps the transcript; once it holds
   * a tenth more lines than this, the oldest are dropped down to `maxLines`. Read on mount.
   * @default Infinity
   */
  maxLines?: number;
}

function useControlledBuffer(
  lines: ReadonlyArray<TerminalLineInput> | undefined,
  maxLines?: number,
) {
  const [buffer] = useState(() => {
    const created = createTerminalBuffer({ maxLines });
    if (lines) created.writeLines(lines);
    return created;
  });
  const previous = useRef(lines);
  useIsomorphicLayoutEffect(() => {
    const before = previous.current;
    previous.current = lines;
    if (!lines || lines === before) return;
    const appended = before !== undefined && startsWith(lines, before);
    if (!appended) buffer.clear();
    buffer.writeLines(appended ? lines.slice(before.length) : lines);
  }, [lines, buffer]);
  return buffer;
}

/**
 * Whether `lines` begins with every entry of `prefix` (the same strings or objects), so the
 * change is an append. Checking every entry, not just the ends, takes under a millisecond for
 * 100,000 lines (less than the caller's copy of the array).
 */
function startsWith(
  lines: ReadonlyArray<TerminalLineInput>,
  prefix: ReadonlyArray<TerminalLineInput>,
): boolean {
  if (prefix.length > lines.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (lines[i] !== prefix[i]) return false;
  }
  return true;
}

/** Holds the terminal's state for its parts. Renders a `<div>`. */
const TerminalRoot = forwardRef<HTMLDivElement, TerminalRootProps>(function TerminalRoot(
  {
    run,
    buffer: givenBuffer,
    lines,
    prompt: givenPrompt,
    onSubmitInput,
    onEof,
    onClear,
    label = "Terminal output",
    maxLines,
    className,
    children,
    ...rest
  },
  forwardedRef,
) {
  const controlled = useControlledBuffer(run || givenBuffer ? undefined : lines, maxLines);
  const buffer = run?.output ?? givenBuffer ?? controlled;
  const prompt = run ? run.prompt : (givenPrompt ?? null);
  const active = run ? run.state === "queued" || run.state === "running" : false;
  const state: TerminalState = prompt !== null ? "waiting" : active ? "running" : "idle";
  const [following, setFollowing] = useState(true);
  const jumpRef = useRef<(() => void) | null>(null);
  const rootRef = useRef<HTMLDivElement | null>(null);
  const ref = useComposedRefs(forwardedRef, rootRef);

  const latest = useRef({ run, onSubmitInput, onEof, onClear });
  latest.current = { run, onSubmitInput, onEof, onClear };
  const hasInput = Boolean(run || onSubmitInput);
  const hasEof = Boolean(run || onEof);
  const canClear = Boolean(run || givenBuffer || onClear);

  const value = useMemo<TerminalContextValue>(
    () => ({
      buffer,
      state,
      prompt,
      label,
      submitInput: hasInput
        ? (text) => {
            const { run: current, onSubmitInput: handler } = latest.current;
            if (!current) {
              handler?.(text);
              return Promise.resolve(true);
            }
            // The run writes why into the transcript and shows the prompt again.
            return current.sendInput(text).then(
              () => true,
              () => false,
            );
          }
        : null,
      sendEof: hasEof
        ? () => {
            const { run: current, onEof: handler } = latest.current;
            // A failure is reported in the run's transcript.
            if (current) current.sendEof().catch(() => {});
            else handler?.();
          }
        : null,
      clear: canClear
        ? () => {
            if (latest.current.run || givenBuffer) buffer.clear();
            latest.current.onClear?.();
          }
        : null,
      following,
      setFollowing,
      jumpToLatest: () => jumpRef.current?.(),
      registerJump: (jump) => {
        jumpRef.current = jump;
      },
      rootRef,
    }),
    [buffer, state, prompt, label, hasInput, hasEof, canClear, givenBuffer, following],
  );

  return (
    <TerminalContext.Provider value={value}>
      <div
        ref={ref}
        className={cx("mecha-terminal", className)}
        data-state={state}
        data-following={following ? "" : undefined}
        {...(run ? { "data-run-state": run.state } : {})}
        {...rest}
      >
        {children}
      </div>
    </TerminalContext.Provider>
  );
});

const ROW_HEIGHT = 20;
const INITIAL_RECT = { width: 720, height: 480 };

// Without layout (server render, a hidden element, a DOM without CSS) sizes read as 0; show a
// first screenful of rows then rather than none, or every row at once.
const observeRect: typeof observeElementRect = (instance, callback) =>
  observeElementRect(instance, (rect) =>
    callback(rect.height > 0 ? rect : (instance.options.initialRect ?? INITIAL_RECT)),
  );
const measureRow: typeof measureDomElement = (element, entry, instance) => {
  const size = measureDomElement(element, entry, instance);
  return size > 0 ? size : ROW_HEIGHT;
};

const SCROLL_KEYS = new Set(["ArrowUp", "PageUp", "Home"]);

export interface TerminalViewportProps extends HTMLAttributes<HTMLDivElement> {
  /**
   * Estimated height of one line in pixels; lines are measured once shown.
   * @default 20
   */
  rowHeight?: number;
  /**
   * Lines rendered beyond the visible ones, above and below.
   * @default 20
   */
  overscan?: number;
}

/**
 * The scrolling transcript: a `role="log"` region, virtualised so that 100,000 lines stay smooth.
 * It follows new output until the user scrolls up, and again from the bottom (or End).
 */
const TerminalViewport = forwardRef<HTMLDivElement, TerminalViewportProps>(
  function TerminalViewport(
    {
      rowHeight = ROW_HEIGHT,
      overscan = 20,
      className,
      style,
      onScroll,
      onWheel,
      onKeyDown,
      onPointerDown,
      ...rest
    },
    forwardedRef,
  ) {
    const context = useTerminalContext("Terminal.Viewport");
    const { buffer, following, setFollowing, registerJump } = context;
    const version = useBufferVersion(buffer);
    const lines = buffer.lines;
    const scrollRef = useRef<HTMLDivElement | null>(null);
    const ref = useComposedRefs(forwardedRef, scrollRef);
    const intent = useRef(0);

    const getItemKey = useCallback((index: number) => buffer.lines[index]?.id ?? index, [buffer]);
    const virtualizer = useVirtualizer({
      count: lines.length,
      getScrollElement: () => scrollRef.current,
      estimateSize: () => rowHeight,
      overscan,
      getItemKey,
      initialRect: INITIAL_RECT,
      observeElementRect: observeRect,
      measureElement: measureRow,
    });

    const scrollToEnd = useCallback(() => {
      const element = scrollRef.current;
      if (element) element.scrollTop = element.scrollHeight;
    }, []);

    useEffect(() => {
      registerJump(() => {
        setFollowing(true);
        scrollToEnd();
      });
      return () => registerJump(null);
    }, [registerJump, setFollowing, scrollToEnd]);

    const totalSize = virtualizer.getTotalSize();
    useIsomorphicLayoutEffect(() => {
      if (following) scrollToEnd();
    }, [following, version, totalSize, scrollToEnd]);

    // Only the user stops following: content growing or rows being measured also move the
    // scroll position, so a scroll event alone is not enough to tell.
    const markIntent = () => {
      intent.current = Date.now();
    };
    const handleScroll = (event: UIEvent<HTMLDivElement>) => {
      const element = event.currentTarget;
      const atBottom =
        element.scrollHeight - element.scrollTop - element.clientHeight <= rowHeight / 2;
      if (atBottom) {
        if (!following) setFollowing(true);
      } else if (following && Date.now() - intent.current < 1000) {
        setFollowing(false);
      }
    };
    const handleWheel = (event: WheelEvent<HTMLDivElement>) => {
      markIntent();
      if (event.deltaY < 0 && following) setFollowing(false);
    };
    const handleKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
      if (event.key === "End" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        setFollowing(true);
        scrollToEnd();
        return;
      }
      if (event.key === "Home" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        setFollowing(false);
        const element = scrollRef.current;
        if (element) element.scrollTop = 0;
        return;
      }
      if (SCROLL_KEYS.has(event.key)) {
        markIntent();
        if (following) setFollowing(false);
      } else if (event.key === "PageDown" || event.key === "ArrowDown") {
        markIntent();
      }
    };

    const items = virtualizer.getVirtualItems();
    return (
      <div
        ref={ref}
        role="log"
        aria-label={context.label}
        // Announce new output while following it; rows that appear because the user scrolls
        // back through the transcript are not news.
        aria-live={following ? "polite" : "off"}
        aria-relevant="additions text"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be focusable to scroll by keyboard
        tabIndex={0}
        className={cx("mecha-terminal-viewport", className)}
        data-state={context.state}
        data-following={following ? "" : undefined}
        data-empty={lines.length === 0 ? "" : undefined}
        style={{ overflowY: "auto", position: "relative", ...style }}
        onScroll={composeEventHandlers(onScroll, handleScroll)}
        onWheel={composeEventHandlers(onWheel, handleWheel)}
        onKeyDown={composeEventHandlers(onKeyDown, handleKeyDown)}
        onPointerDown={composeEventHandlers(onPointerDown, markIntent)}
        onTouchMove={markIntent}
        {...rest}
      >
        <div style={{ height: totalSize, position: "relative", width: "100%" }}>
          {items.map((item) => {
            const line = lines[item.index];
            if (!line) return null;
            return (
              <TerminalRow
                key={item.key}
                line={line}
                index={item.index}
                start={item.start}
                measure={virtualizer.measureElement}
              />
            );
          })}
        </div>
      </div>
    );
  },
);

interface TerminalRowProps {
  line: TerminalLine;
  index: number;
  start: number;
  measure: Virtualizer<HTMLDivElement, Element>["measureElement"];
}

const TerminalRow = memo(function TerminalRow({ line, index, start, measure }: TerminalRowProps) {
  const segments = parseAnsi(line.text, line.style);
  // A line of nothing but escape sequences shows as an empty line, as in a terminal.
  const empty = !line.input && segments.every((segment) => segment.text === "");
  return (
    <div
      ref={measure}
      data-index={index}
      data-stream={line.stream}
      className="mecha-terminal-line"
      style={{
        position: "absolute",
        top: 0,
        left: 0,
        width: "100%",
        transform: `translateY(${start}px)`,
        whiteSpace: "pre-wrap",
        overflowWrap: "anywhere",
      }}
    >
      {segments.map((segment, i) =>
        segment.style ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments of one line never reorder
          <span key={i} style={segment.style}>
            {segment.text}
          </span>
        ) : (
          segment.text
        ),
      )}
      {line.input !== undefined && line.input !== "" && (
        <span className="mecha-terminal-stdin" data-stream="stdin">
          {line.input}
        </span>
      )}
      {empty && <br />}
    </div>
  );
});

export interface TerminalInputProps
  extends Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "defaultValue"> {
  /**
   * Move focus to the input when the program asks for input, if focus was in this terminal or its
   * code runner (or nowhere).
   * @default true
   */
  autoFocus?: boolean;
  /** Props for the wrapping `<form>`. */
  formProps?: FormHTMLAttributes<HTMLFormElement>;
}

/**
 * The line where the user answers `input()`. Renders only while the program waits; Enter sends,
 * Ctrl+D in an empty line closes stdin. The answer is echoed into the transcript.
 */
const TerminalInput = forwardRef<HTMLInputElement, TerminalInputProps>(function TerminalInput(
  { autoFocus = true, formProps, className, onKeyDown, ...rest },
  forwardedRef,
) {
  const { prompt, submitInput, sendEof, rootRef, jumpToLatest } =
    useTerminalContext("Terminal.Input");
  const [value, setValue] = useState("");
  const inputRef = useRef<HTMLInputElement | null>(null);
  const ref = useComposedRefs(forwardedRef, inputRef);
  const waiting = prompt !== null && submitInput !== null;

  useEffect(() => {
    if (!waiting || !autoFocus) return;
    const input = inputRef.current;
    const root = rootRef.current;
    if (!input || !root) return;
    const active = input.ownerDocument.activeElement;
    const scope = root.closest("[data-mecha-scope]") ?? root;
    if (!active || active === input.ownerDocument.body || scope.contains(active)) {
      input.focus();
    }
  }, [waiting, autoFocus, rootRef]);

  if (!waiting) return null;
  const name = prompt.trim() || "Input for the program";
  return (
    <form
      {...formProps}
      className={cx("mecha-terminal-input", formProps?.className)}
      data-state="waiting"
      onSubmit={(event) => {
        formProps?.onSubmit?.(event);
        if (event.defaultPrevented && formProps?.onSubmit) return;
        event.preventDefault();
        const text = value;
        setValue("");
        jumpToLatest();
        void submitInput(text).then((sent) => {
          // Give the answer back to edit and resend, unless the user already typed anew.
          if (!sent) setValue((current) => (current === "" ? text : current));
        });
      }}
    >
      <span aria-hidden="true" className="mecha-terminal-inputMarker">
        ›
      </span>
      <input
        ref={ref}
        type="text"
        autoComplete="off"
        autoCapitalize="off"
        spellCheck={false}
        aria-label={name}
        className={cx("mecha-terminal-inputField", className)}
        value={value}
        onChange={(event) => setValue(event.target.value)}
        onKeyDown={composeEventHandlers(onKeyDown, (event) => {
          if (event.key === "d" && event.ctrlKey && value === "" && sendEof) {
            event.preventDefault();
            sendEof();
          }
        })}
        {...rest}
      />
    </form>
  );
});

export interface TerminalButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  /** Render the child element instead of a `<button>`, with this part's behaviour. */
  asChild?: boolean;
}

/** Copies the transcript as plain text. Says "Copied" for a moment afterwards. */
const TerminalCopy = forwardRef<HTMLButtonElement, TerminalButtonProps>(function TerminalCopy(
  { asChild, children, onClick, className, ...rest },
  ref,
) {
  const { buffer } = useTerminalContext("Terminal.Copy");
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const Component = asChild ? Slot : "button";
  return (
    <Component
      ref={ref as never}
      type={asChild ? undefined : "button"}
      className={cx("mecha-terminal-copy", "mecha-button", className)}
      data-state={state}
      onClick={composeEventHandlers(onClick, () => {
        const clipboard = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
        if (!clipboard) {
          setState("failed");
          return;
        }
        clipboard.writeText(buffer.toString()).then(
          () => setState("copied"),
          () => setState("failed"),
        );
      })}
      {...rest}
    >
      {children ?? (state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy")}
    </Component>
  );
});

/** Empties the transcript. Renders only when clearing is possible (see `onClear`). */
const TerminalClear = forwardRef<HTMLButtonElement, TerminalButtonProps>(function TerminalClear(
  { asChild, children, onClick, className, ...rest },
  ref,
) {
  const { clear } = useTerminalContext("Terminal.Clear");
  if (!clear) return null;
  const Component = asChild ? Slot : "button";
  return (
    <Component
      ref={ref as never}
      type={asChild ? undefined : "button"}
      className={cx("mecha-terminal-clear", "mecha-button", className)}
      onClick={composeEventHandlers(onClick, clear)}
      {...rest}
    >
      {children ?? "Clear"}
    </Component>
  );
});

/** Shown while the user has scrolled away from new output; brings them back to it. */
const TerminalJumpToLatest = forwardRef<HTMLButtonElement, TerminalButtonProps>(
  function TerminalJumpToLatest({ asChild, children, onClick, className, ...rest }, ref) {
    const { following, jumpToLatest } = useTerminalContext("Terminal.JumpToLatest");
    if (following) return null;
    const Component = asChild ? Slot : "button";
    return (
      <Component
        ref={ref as never}
        type={asChild ? undefined : "button"}
        className={cx("mecha-terminal-jump", "mecha-button", className)}
        onClick={composeEventHandlers(onClick, jumpToLatest)}
        {...rest}
      >
        {children ?? "Jump to latest output"}
      </Component>
    );
  },
);

export interface TerminalProps extends TerminalRootProps {
  /** Extra controls for the toolbar, after Copy and Clear. */
  actions?: ReactNode;
  /** Props for the viewport (e.g. `rowHeight`). */
  viewportProps?: TerminalViewportProps;
}

/**
 * A terminal: ANSI colours, `\r` progress lines, stdout/stderr told apart, sticky scrolling,
 * 100,000 lines, an input line for `input()`, Copy and Clear. Fed by `useRun`, a buffer, or lines.
 * @example
 * const run = useRun();
 * <Terminal run={run} />
 * @example
 * <Terminal lines={["\x1b[32mready\x1b[0m", { text: "oops", stream: "stderr" }]} />
 */
const TerminalComponent = forwardRef<HTMLDivElement, TerminalProps>(function Terminal(
  { actions, viewportProps, ...props },
  ref,
) {
  return (
    <TerminalRoot ref={ref} {...props}>
      <div className="mecha-terminal-toolbar">
        <TerminalCopy />
        <TerminalClear />
        {actions}
      </div>
      <TerminalViewport {...viewportProps} />
      <TerminalJumpToLatest />
      <TerminalInput />
    </TerminalRoot>
  );
});

type TerminalCompound = typeof TerminalComponent & {
  Root: typeof TerminalRoot;
  Viewport: typeof TerminalViewport;
  Input: typeof TerminalInput;
  Copy: typeof TerminalCopy;
  Clear: typeof TerminalClear;
  JumpToLatest: typeof TerminalJumpToLatest;
};

export const Terminal = Object.assign(TerminalComponent, {
  Root: TerminalRoot,
  Viewport: TerminalViewport,
  Input: TerminalInput,
  Copy: TerminalCopy,
  Clear: TerminalClear,
  JumpToLatest: TerminalJumpToLatest,
}) as TerminalCompound;

export {
  TerminalClear,
  TerminalCopy,
  TerminalInput,
  TerminalJumpToLatest,
  TerminalRoot,
  TerminalViewport,
};
