/** Turns a program's HTML into markup that is safe to put in the page. */
export type Sanitize = (html: string) => string;

type State = { sanitize: Sanitize | null; failed: boolean };

let state: State = { sanitize: null, failed: false };
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

// DOMPurify is a chunk of its own, fetched when HTML output is first shown: an app whose
// programs print only text never loads it.
const loadSanitizer = () => import("./sanitizeHtml");

function load(): void {
  if (loading) return;
  loading = loadSanitizer().then(
    (module) => {
      state = { sanitize: module.sanitizeHtml, failed: false };
    },
    () => {
      state = { sanitize: null, failed: true };
      // The next display to mount tries again (the chunk may have failed to load once).
      loading = null;
    },
  );
  void loading.then(() => {
    for (const listener of listeners) listener();
  });
}

/**
 * The sanitiser, as an external store for `useSyncExternalStore`: null until its chunk has
 * loaded (and always on the server, and while hydrating, so the markup matches), then the
 * function. Subscribing starts the load.
 */
export const sanitizerStore = {
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    load();
    return () => {
      listeners.delete(listener);
    };
  },
  get: (): State => state,
  getServer: (): State => SERVER_STATE,
};

const SERVER_STATE: State = { sanitize: null, failed: false };
