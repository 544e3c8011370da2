import type { TerminalBuffer } from "@mecha/client/run-store";
import { useCallback, useSyncExternalStore } from "react";

type Frame = (callback: () => void) => () => void;

/** At most one render per animation frame, however fast the program writes. */
const nextFrame: Frame = (callback) => {
  if (typeof requestAnimationFrame === "function") {
    const id = requestAnimationFrame(callback);
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(callback, 16);
  return () => clearTimeout(id);
};

/** Subscribes to a terminal buffer, coalescing its updates into one render per frame. */
export function useBufferVersion(buffer: TerminalBuffer): number {
  const subscribe = useCallback(
    (notify: () => void) => {
      let cancel: (() => void) | null = null;
      const unsubscribe = buffer.subscribe(() => {
        if (cancel) return;
        cancel = nextFrame(() => {
          cancel = null;
          notify();
        });
      });
      return () => {
        unsubscribe();
        cancel?.();
      };
    },
    [buffer],
  );
  const read = () => buffer.version;
  return useSyncExternalStore(subscribe, read, read);
}
