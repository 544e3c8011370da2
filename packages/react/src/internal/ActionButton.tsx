import { type ButtonHTMLAttributes, forwardRef, type MouseEvent, type ReactNode } from "react";
import { composeEventHandlers, cx } from "./dom";
import { Slot } from "./Slot";

/** What every action button part takes: a `<button>`'s attributes, and `asChild`. */
export interface ActionButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  /** Render the child element instead of a `<button>`, with this part's behaviour. */
  asChild?: boolean;
}

interface ActionButtonOwnProps extends ActionButtonProps {
  /** The part's class, e.g. `mecha-terminal-copy`; `mecha-button` is always added. */
  part: string;
  /** What the button does, after the host's `onClick` unless it called `preventDefault()`. */
  onAction: (event: MouseEvent<HTMLButtonElement>) => void;
  /** The part's state as `data-state`; props cannot override it. */
  state?: string | undefined;
  /** The label when the host gives no children. */
  label: ReactNode;
}

/**
 * The one button behind every action part (Copy, Clear, Jump to latest output, Run/Stop): a
 * `type="button"` (or the `asChild` element), the part's classes, the host's `onClick` composed
 * before the action, and the part's `data-state` set last.
 */
export const ActionButton = forwardRef<HTMLButtonElement, ActionButtonOwnProps>(
  function ActionButton(
    { asChild, part, onAction, state, label, className, onClick, children, ...rest },
    ref,
  ) {
    const Component = asChild ? Slot : "button";
    return (
      <Component
        ref={ref as never}
        type={asChild ? undefined : "button"}
        {...rest}
        className={cx(part, "mecha-button", className)}
        onClick={composeEventHandlers(onClick, onAction)}
        {...(state === undefined ? {} : { "data-state": state })}
      >
        {children ?? label}
      </Component>
    );
  },
);
