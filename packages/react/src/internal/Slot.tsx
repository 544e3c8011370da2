import {
  Children,
  cloneElement,
  forwardRef,
  type HTMLAttributes,
  isValidElement,
  type ReactElement,
  type Ref,
} from "react";
import { composeRefs, cx } from "./dom";

type AnyProps = Record<string, unknown>;

/**
 * Renders its only child instead of an element of its own, merging props onto it: handlers are
 * chained (the child's first), classes joined, styles merged, refs combined; `data-state` is the
 * part's. Backs `asChild`.
 */
export const Slot = forwardRef<HTMLElement, HTMLAttributes<HTMLElement>>(function Slot(
  { children, ...slotProps },
  forwardedRef,
) {
  const child = Children.only(children);
  if (!isValidElement(child)) return null;
  const element = child as ReactElement<AnyProps> & { props: AnyProps };
  const childProps = element.props;
  const merged: AnyProps = { ...slotProps, ...childProps };
  for (const key of Object.keys(slotProps)) {
    const ours = (slotProps as AnyProps)[key];
    const theirs = childProps[key];
    if (/^on[A-Z]/.test(key) && typeof ours === "function" && typeof theirs === "function") {
      merged[key] = (event: { defaultPrevented?: boolean }) => {
        (theirs as (e: unknown) => void)(event);
        if (!event?.defaultPrevented) (ours as (e: unknown) => void)(event);
      };
    } else if (key === "className") {
      merged.className = cx(ours as string, theirs as string);
    } else if (key === "style") {
      merged.style = { ...(ours as object), ...(theirs as object) };
    }
  }
  // The part's state is the part's to say, whatever the child element carries.
  if ("data-state" in slotProps) merged["data-state"] = (slotProps as AnyProps)["data-state"];
  const childRef = (childProps.ref ?? (element as { ref?: Ref<HTMLElement> }).ref) as
    | Ref<HTMLElement>
    | undefined;
  merged.ref = composeRefs(forwardedRef, childRef);
  return cloneElement(element, merged);
});
