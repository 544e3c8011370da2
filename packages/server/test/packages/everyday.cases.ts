/**
 * Everyday programs with Debian's numpy, pandas and matplotlib behave under Mecha as under
 * Debian's python3 run directly: the same stdout and exit status, with the zygote preloading
 * those packages and without. Run on both start-up paths (test/zygote.test.ts,
 * test/spawn.test.ts; on the spawn path, preload changes nothing).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { run } from "../hostile/helpers";
import { hasBwrap, hasPackages, PRELOAD, runDebian } from "./helpers";

interface Case {
  name: string;
  code: string;
  files?: { path: string; content: string }[];
}

const CSV = [
  "date,region,product,units,price",
  "2024-01-03,north,widget,12,2.50",
  "2024-01-04,south,gadget,3,10.00",
  "2024-01-04,north,gadget,7,9.50",
  "2024-01-05,east,widget,20,2.25",
  "2024-01-06,south,widget,5,2.75",
  "2024-01-06,east,gadget,1,11.00",
].join("\n");

export const EVERYDAY: Case[] = [
  {
    name: "data analysis: group, pivot, describe",
    code: [
      "import pandas as pd",
      "df = pd.DataFrame({'city': ['Paris', 'Lyon', 'Paris', 'Nice', 'Lyon', 'Paris'],",
      "                   'sales': [120, 80, 95, 60, 110, 130], 'month': [1, 1, 2, 2, 3, 3]})",
      "print(df.groupby('city')['sales'].agg(['sum', 'mean', 'count']))",
      "print(df.pivot_table(index='month', columns='city', values='sales', fill_value=0))",
      "print(df.describe())",
      "print(df.sort_values('sales', ascending=False).head(3).to_string(index=False))",
      "print(df.to_csv(index=False))",
    ].join("\n"),
  },
  {
    name: "data analysis: a CSV file read, joined and summed",
    code: [
      "import pandas as pd",
      "sales = pd.read_csv('data/sales.csv', parse_dates=['date'])",
      "sales['revenue'] = sales.units * sales.price",
      "regions = pd.DataFrame({'region': ['north', 'south', 'east'], 'manager': ['Ana', 'Bo', 'Cy']})",
      "merged = sales.merge(regions, on='region')",
      "print(merged.groupby(['manager', 'product']).revenue.sum().round(2))",
      "print(sales.dtypes)",
      "print(sales['product'].value_counts())",
      "print(merged.loc[merged.revenue.idxmax()].to_dict())",
    ].join("\n"),
    files: [{ path: "data/sales.csv", content: CSV }],
  },
  {
    name: "linear algebra",
    code: [
      "import numpy as np",
      "A = np.array([[4., 1., 2.], [1., 3., 0.], [2., 0., 5.]])",
      "b = np.array([1., 2., 3.])",
      "print(np.round(np.linalg.solve(A, b), 6))",
      "print(np.round(np.linalg.eigvalsh(A), 6))",
      "print(np.round(np.linalg.inv(A) @ A, 6))",
      "print(round(float(np.linalg.det(A)), 6), np.linalg.matrix_rank(A))",
      "print(np.round(np.linalg.svd(A, compute_uv=False), 6))",
      "M = np.arange(1, 401, dtype=float).reshape(20, 20) % 7 + np.eye(20) * 20",
      "print(np.round(np.linalg.inv(M).sum(), 6), np.round(np.trace(M @ M.T), 3))",
    ].join("\n"),
  },
  {
    name: "time series: resample, rolling, time zones",
    code: [
      "import numpy as np, pandas as pd",
      "idx = pd.date_range('2024-01-01', periods=60, freq='D')",
      "s = pd.Series(np.arange(60) % 7 * 1.5 + np.arange(60) * 0.1, index=idx)",
      "print(s.resample('W').mean().round(3))",
      "print(s.rolling(7).mean().dropna().head().round(3))",
      "print(s.pct_change().tail(3).round(4))",
      "print(pd.Timestamp('2024-03-10 12:00', tz='Europe/Paris').tz_convert('UTC'))",
      "print(s.index.day_name()[:3].tolist())",
    ].join("\n"),
  },
  {
    name: "statistics with seeded random numbers",
    code: [
      "import numpy as np, random",
      "rng = np.random.default_rng(42)",
      "x = rng.normal(10, 2, 1000)",
      "print(round(x.mean(), 4), round(x.std(), 4))",
      "np.random.seed(0)",
      "print(np.random.randint(0, 100, 5), np.random.rand(2).round(6))",
      "random.seed(1)",
      "print(random.random())",
      "hist, edges = np.histogram(x, bins=5)",
      "print(hist, np.round(edges, 3))",
    ].join("\n"),
  },
  {
    name: "a plot saved to a file",
    code: [
      "import numpy as np",
      "import matplotlib.pyplot as plt",
      "x = np.linspace(0, 2 * np.pi, 100)",
      "fig, ax = plt.subplots(figsize=(4, 3))",
      "ax.plot(x, np.sin(x), label='sin')",
      "ax.legend()",
      "fig.savefig('plot.png', dpi=50)",
      "with open('plot.png', 'rb') as handle:",
      "    print(handle.read(8) == b'\\x89PNG\\r\\n\\x1a\\n', len(ax.lines), fig.get_size_inches())",
      "plt.close(fig)",
    ].join("\n"),
  },
  {
    name: "arrays: broadcasting and printing",
    code: [
      "import numpy as np",
      "a = np.arange(12).reshape(3, 4)",
      "print(a * 2 + 1)",
      "print(a.T @ a)",
      "print(a.mean(axis=0), a.dtype, a.shape)",
      "print(np.where(a > 5, a, -1))",
      "np.set_printoptions(precision=3)",
      "print(np.linspace(0, 1, 7))",
    ].join("\n"),
  },
  {
    name: "cleaning a table",
    code: [
      "import pandas as pd",
      "df = pd.DataFrame({'name': [' alice ', 'BOB', 'carol'], 'score': [88.5, 92.25, None]})",
      "df['name'] = df['name'].str.strip().str.title()",
      "df['score'] = df['score'].fillna(df['score'].mean())",
      "print(df.to_json(orient='records'))",
      "print(df.assign(rank=df.score.rank(ascending=False)).to_string())",
    ].join("\n"),
  },
  {
    name: "a failure inside pandas",
    code: "import pandas as pd\nprint('before')\npd.DataFrame({'a': [1]})['missing']",
  },
];

export function everydayCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap || !hasPackages)(
    `everyday programs with numpy, pandas and matplotlib behave as under Debian's python3 (${startup})`,
    { timeout: 60_000 },
    () => {
      const preloaded = createHandler({
        sandbox: "required",
        startup,
        preload: PRELOAD,
        logger: false,
      });
      const plain = createHandler({ sandbox: "required", startup, logger: false });
      afterAll(() => Promise.all([preloaded.close(), plain.close()]));

      it.each(EVERYDAY)("$name", async ({ code, files }) => {
        const expected = runDebian(code, files);
        for (const handler of [preloaded, plain]) {
          const result = await run(handler, { code, ...(files ? { files } : {}) });
          expect(result.stdout).toBe(expected.stdout);
          expect(result.exitCode, result.stderr).toBe(expected.exitCode);
        }
      });

      it("gives a program that imports a package that is not there Python's own error, its line marked", async () => {
        const code = "import json\n\nimport no_such_package_mecha\n";
        const expected = runDebian(code);
        for (const handler of [preloaded, plain]) {
          const result = await run(handler, { code });
          expect(result.status).toBe("failed");
          expect(result.error).toMatchObject({
            type: "ModuleNotFoundError",
            message: "No module named 'no_such_package_mecha'",
            line: 3,
          });
          expect(result.stderr.replace("/workspace/", "<dir>/")).toBe(expected.stderr);
        }
      });
    },
  );
}
