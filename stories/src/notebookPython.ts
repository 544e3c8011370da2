import type { Display, RunEvent } from "@mecha/protocol";
import { err, exit, out, type Step } from "./server";
import type { Interpreter } from "./sessionServer";

/** The notebook's cells: they build on each other, and one asks for more memory than it may. */
export const CELLS = {
  load: `import pandas as pd

sales = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "sales": [120, 95, 143]})
print(len(sales), "cities loaded")`,
  table: `sales.sort_values("sales", ascending=False)`,
  plot: `import matplotlib.pyplot as plt

sales.plot.bar(x="city", y="sales", legend=False)
plt.show()`,
  total: `total = int(sales["sales"].sum())
total`,
  hog: `# More memory than the session may use: its interpreter is killed
hog = bytearray(8 * 1024**3)`,
} as const;

/** `sales.sort_values(…)` as pandas shows it: an HTML table, and its text. */
export const SORTED_SALES: Display = {
  data: {
    "text/plain": "   city  sales\n2  Pune    143\n0  Oslo    120\n1  Lima     95",
    "text/html": `<div>
<style scoped>
    .dataframe tbody tr th:only-of-type { vertical-align: middle; }
    .dataframe tbody tr th { vertical-align: top; }
    .dataframe thead th { text-align: right; }
</style>
<table border="1" class="dataframe">
  <thead>
    <tr style="text-align: right;"><th></th><th>city</th><th>sales</th></tr>
  </thead>
  <tbody>
    <tr><th>2</th><td>Pune</td><td>143</td></tr>
    <tr><th>0</th><td>Oslo</td><td>120</td></tr>
    <tr><th>1</th><td>Lima</td><td>95</td></tr>
  </tbody>
</table>
</div>`,
  },
};

const FIGURE = "<Figure size 640x480 with 1 Axes>";

/** A bar chart of the sales as a PNG, drawn in the page (matplotlib would send the same kind). */
function barChart(): Display {
  const canvas = document.createElement("canvas");
  canvas.width = 640;
  canvas.height = 480;
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, 640, 480);
  context.strokeStyle = "#000000";
  context.strokeRect(80, 58, 496, 370);
  context.font = "16px sans-serif";
  context.fillStyle = "#000000";
  context.textAlign = "center";
  [
    ["Oslo", 120],
    ["Lima", 95],
    ["Pune", 143],
  ].forEach(([city, value], index) => {
    const x = 130 + index * 160;
    const height = (Number(value) / 150) * 340;
    context.fillStyle = "#1f77b4";
    context.fillRect(x, 428 - height, 80, height);
    context.fillStyle = "#000000";
    context.fillText(String(city), x + 40, 450);
  });
  context.fillText("city", 328, 472);
  const png = canvas.toDataURL("image/png").slice("data:image/png;base64,".length);
  return { data: { "image/png": png, "text/plain": FIGURE } };
}

const display = (shown: Display): RunEvent => ({ type: "display", ...shown });

function nameError(id: string, name: string, line: number, source: string): Step[] {
  const message = `name '${name}' is not defined`;
  const traceback = `Traceback (most recent call last):\n  File "<cell>", line ${line}, in <module>\n    ${source}\nNameError: ${message}\n`;
  return [
    err(traceback),
    exit({
      id,
      status: "failed",
      exitCode: 1,
      stderr: traceback,
      error: { type: "NameError", message, line, traceback },
    }),
  ];
}

const LIMITS = { timeoutMs: 30_000, memoryMb: 256, outputBytes: 1 << 20 };

/**
 * The notebook's Python, as a session on the server runs it: cells see the names earlier cells
 * defined in the same session, and a NameError otherwise; a final expression's value is shown.
 */
export const notebookPython: Interpreter = (code, session, id) => {
  const known = (name: string) => session.names.has(name);
  switch (code.trim()) {
    case CELLS.load:
      session.names.add("pd").add("sales");
      return [{ wait: 150 }, out("3 cities loaded\n"), exit({ id, stdout: "3 cities loaded\n" })];
    case CELLS.table:
      if (!known("sales")) return nameError(id, "sales", 1, CELLS.table);
      return [{ wait: 100 }, display(SORTED_SALES), exit({ id, displays: [SORTED_SALES] })];
    case CELLS.plot: {
      if (!known("sales")) return nameError(id, "sales", 3, CELLS.plot.split("\n")[2]!);
      session.names.add("plt");
      const chart = barChart();
      return [{ wait: 250 }, display(chart), exit({ id, displays: [chart] })];
    }
    case CELLS.total: {
      if (!known("sales")) return nameError(id, "sales", 1, CELLS.total.split("\n")[0]!);
      session.names.add("total");
      const value: Display = { data: { "text/plain": "358" } };
      return [display(value), exit({ id, displays: [value] })];
    }
    case CELLS.hog:
      session.lost = true;
      return [
        { wait: 200 },
        exit({
          id,
          status: "memory_exceeded",
          exitCode: null,
          signal: "SIGKILL",
          memoryKb: 262_144,
          limits: LIMITS,
        }),
      ];
    default: {
      const why = "This story's Python runs only the cells it was written with.\n";
      return [err(why), exit({ id, status: "failed", exitCode: 1, stderr: why })];
    }
  }
};
