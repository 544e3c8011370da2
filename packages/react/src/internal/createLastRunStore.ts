import type { BackendKind, ClientStatus, MechaClient } from "./clientTypes";

/** The backend that ran the latest program, and whether the client's status changed since. */
export interface LastRun {
  readonly backend: BackendKind;
  /** The client's status when the run ended. */
  readonly status: ClientStatus;
  /** No status change came after the run, so it still says where code runs now. */
  readonly current: boolean;
}

/**
 * Remembers where the latest program ran, so labels can say where code runs when that differs
 * from what the status alone suggests (a run that fell back while the client was still online).
 * Follows the client's status while anyone listens; a change it misses meanwhile is caught by
 * comparing with the status the run ended in.
 */
export interface LastRunStore {
  get(): LastRun | null;
  /** Records the backend of a run that just ended. */
  set(backend: BackendKind): void;
  subscribe(listener: () => void): () => void;
}

export function createLastRunStore(client: MechaClient): LastRunStore {
  let value: LastRun | null = null;
  let unsubscribe: (() => void) | null = null;
  const listeners = new Set<() => void>();
  const emit = () => {
    for (const listener of listeners) listener();
  };
  const noteStatus = () => {
    if (value?.current && client.status !== value.status) {
      value = { ...value, current: false };
      emit();
    }
  };
  return {
    get: () => value,
    set(backend) {
      const status = client.status;
      if (value?.current && value.backend === backend && value.status === status) return;
      value = { backend, status, current: true };
      emit();
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!unsubscribe) {
        unsubscribe = client.subscribe(noteStatus);
        noteStatus();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          unsubscribe?.();
          unsubscribe = null;
        }
      };
    },
  };
}
