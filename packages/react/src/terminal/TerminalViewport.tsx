"use client";

import {
  measureElement as measureDomElement,
  observeElementRect,
  useVirtualizer,
} from "@tanstack/react-virtual";
import {
  forwardRef,
  type HTMLAttributes,
  type KeyboardEvent,
  type UIEvent,
  useCallback,
  useEffect,
  useRef,
  type WheelEvent,
} from "react";
import {
  composeEventHandlers,
  cx,
  useComposedRefs,
  useIsomorphicLayoutEffect,
} from "../internal/dom";
import { useTerminalContext } from "./TerminalContext";
import { TerminalRow } from "./TerminalRow";
import { useBufferVersion } from "./useBufferVersion";

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
export const TerminalViewport = forwardRef<HTMLDivElement, TerminalViewportProps>(
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
      onTouchMove,
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
        style={{ overflowY: "auto", position: "relative", ...style }}
        onScroll={composeEventHandlers(onScroll, handleScroll)}
        onWheel={composeEventHandlers(onWheel, handleWheel)}
        onKeyDown={composeEventHandlers(onKeyDown, handleKeyDown)}
        onPointerDown={composeEventHandlers(onPointerDown, markIntent)}
        onTouchMove={composeEventHandlers(onTouchMove, markIntent)}
        {...rest}
        data-state={context.state}
        data-following={following ? "" : undefined}
        data-empty={lines.length === 0 ? "" : undefined}
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
