/** A file imported as text: Vite's `?raw` suffix, and the package build's loader for it. */
declare module "*?raw" {
  const text: string;
  export default text;
}
