/**
 * The worker script's source, built from `worker.ts` and put here by the package build
 * (`tsup.config.ts`), so the backend can start its worker from a Blob without any bundler
 * set-up. Run from source, there is none: pass `workerUrl`.
 */
export const WORKER_SOURCE: string | undefined = undefined;
