// Programs that use Debian's numpy, pandas and matplotlib, as people write them: measured on the
// targets that run them (Mecha preloading them in its zygote and not, the cold-interpreter spawn
// floor, and the Flask copy of the original design), and rendered as the report's section.
import { spawnSync } from "node:child_process";

const PANDAS = [
  "import numpy as np",
  "import pandas as pd",
  "df = pd.DataFrame({'day': np.arange(1000) % 7, 'sales': np.arange(1000) * 1.5})",
  "summary = df.groupby('day').sales.agg(['count', 'mean', 'max'])",
  "print(summary.to_string())",
].join("\n");

const PLOT = [
  "import io",
  "import matplotlib.pyplot as plt",
  "import numpy as np",
  "x = np.linspace(0, 10, 200)",
  "fig, ax = plt.subplots(figsize=(6, 4))",
  "ax.plot(x, np.sin(x), label='sin')",
  "ax.plot(x, np.cos(x), label='cos')",
  "ax.legend()",
  "ax.set_title('waves')",
  "buffer = io.BytesIO()",
  "fig.savefig(buffer, format='png')",
  "plt.close(fig)",
  "print('png', buffer.getvalue()[:8] == b'\\x89PNG\\r\\n\\x1a\\n')",
].join("\n");

/** The same plot shown with plt.show(): Mecha's inline backend sends it as an image/png display. */
const PLOT_SHOWN = PLOT.replace(/buffer = [\s\S]*$/, "plt.show()\n");

/**
 * The package programs with their expected output (Debian's python3 run directly), or null with
 * the reason they cannot be measured here.
 */
export function packagePrograms(python) {
  const expected = {};
  for (const [name, code] of Object.entries({ pandas: PANDAS, plot: PLOT })) {
    const out = spawnSync(python, ["-E", "-s", "-c", code], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", HOME: "/tmp", OPENBLAS_NUM_THREADS: "1" },
      timeout: 60_000,
    });
    if (out.status !== 0) {
      return {
        unavailable: `Debian's numpy, pandas and matplotlib do not run here (${(out.stderr ?? "").trim().split("\n").at(-1)}): apt-get install -y python3-numpy python3-pandas python3-matplotlib`,
      };
    }
    expected[name] = out.stdout;
  }
  return {
    pandas: { code: PANDAS, check: (stdout) => stdout === expected.pandas },
    plot: { code: PLOT, check: (stdout) => stdout === expected.plot },
    shown: { code: PLOT_SHOWN },
  };
}

/** `POST /runs` of the plot shown with plt.show(): verified to carry one PNG display. */
export function shownPlotRequest(program) {
  return {
    path: "/runs",
    body: JSON.stringify({ language: "python", code: program.code }),
    verify: (body) => {
      try {
        const result = JSON.parse(body);
        const png = result.displays?.[0]?.data?.["image/png"];
        return (
          result.status === "succeeded" && typeof png === "string" && png.startsWith("iVBORw0KGgo")
        );
      } catch {
        return false;
      }
    },
  };
}

const ratio = (a, b) =>
  typeof a === "number" && typeof b === "number" && b !== 0 ? Number((a / b).toFixed(2)) : null;

/** Ratios of the package programs: against Flask and against a cold interpreter (the spawn floor). */
export function packageRatios(targets) {
  const flask = targets.flask;
  const cold = targets["spawn-floor"];
  const out = {};
  for (const [key, t] of Object.entries(targets)) {
    if (!t.pandas && !t.plot) continue;
    out[key] = {
      pandasVsFlask: ratio(t.pandas?.p50Ms, flask?.pandas?.p50Ms),
      plotVsFlask: ratio(t.plot?.p50Ms, flask?.plot?.p50Ms),
      pandasVsCold: ratio(t.pandas?.p50Ms, cold?.pandas?.p50Ms),
      plotVsCold: ratio(t.plot?.p50Ms, cold?.plot?.p50Ms),
    };
  }
  const on = targets["mecha-preload"];
  const off = targets["mecha-sandbox"];
  const preload =
    on?.latency && off?.latency
      ? {
          helloP50AddedMs: Number((on.latency.p50Ms - off.latency.p50Ms).toFixed(2)),
          helloCpuAddedMs:
            typeof on.throughput?.cpuMsPerRequest === "number" &&
            typeof off.throughput?.cpuMsPerRequest === "number"
              ? Number((on.throughput.cpuMsPerRequest - off.throughput.cpuMsPerRequest).toFixed(2))
              : null,
          helloRps: ratio(on.throughput?.rps, off.throughput?.rps),
          pandasP50: ratio(on.pandas?.p50Ms, off.pandas?.p50Ms),
        }
      : null;
  return { byTarget: out, preload };
}

const num = (value, digits = 1) =>
  typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
const times = (value) => (typeof value === "number" ? `${value.toFixed(2)}×` : "–");
const speedup = (value) =>
  typeof value === "number" && value > 0 ? `${(1 / value).toFixed(1)}×` : "–";

/** The report's section on package programs (markdown lines). */
export function renderPackages(report) {
  const targets = Object.values(report.targets).filter((t) => t.pandas || t.plot);
  const ratios = report.ratios.packages;
  if (targets.length === 0) return [];
  const rows = targets.map((t) => {
    const r = ratios?.byTarget?.[t.key] ?? {};
    return `| ${t.key} | ${num(t.pandas?.p50Ms)} | ${num(t.pandas?.p99Ms)} | ${num(t.pandas?.cpuMsPerRequest)} | ${speedup(r.pandasVsCold)} | ${times(r.pandasVsFlask)} | ${num(t.plot?.p50Ms)} | ${num(t.plot?.cpuMsPerRequest)} | ${times(r.plotVsFlask)} | ${num(t.shownPlot?.p50Ms)} |`;
  });
  const lines = [
    "## Programs with numpy, pandas and matplotlib",
    "",
    "| target | pandas p50 ms | pandas p99 ms | pandas CPU ms | pandas: faster than a cold interpreter | pandas p50 vs Flask | plot p50 ms | plot CPU ms | plot p50 vs Flask | plot via plt.show() p50 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "pandas: a DataFrame of 1000 rows grouped by day (`groupby(...).agg(['count', 'mean', 'max'])`, printed). Plot: two lines, a legend and a title, saved as PNG into memory (`fig.savefig(BytesIO)`), so that every target draws it. " +
      "1 connection, sequential runs after a warm-up run; every answer checked against Debian's python3 run directly. A cold interpreter is the spawn floor (`python3 -c` per request). " +
      "`plot via plt.show()`: Mecha only, the same plot shown, which its inline backend sends as an image/png display (checked in the result).",
    "",
  ];
  const p = ratios?.preload;
  if (p) {
    lines.push(
      `**What preloading costs a run that does not use the packages** (mecha-preload vs mecha-sandbox, \`print("hi")\`): p50 ${p.helloP50AddedMs >= 0 ? "+" : ""}${num(p.helloP50AddedMs, 2)} ms, CPU ${p.helloCpuAddedMs >= 0 ? "+" : ""}${num(p.helloCpuAddedMs, 2)} ms per request, req/s ${times(p.helloRps)}; and what it saves one that does: pandas p50 ${times(p.pandasP50)}.`,
      "",
    );
  }
  return lines;
}
