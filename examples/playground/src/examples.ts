/** Programs the playground offers, each showing one thing Mecha does. */
export const EXAMPLES: { title: string; code: string }[] = [
  {
    title: "Hello",
    code: `import sys, platform

print("Hello from Python", platform.python_version())
print("Unicode works too: héllo, 你好, 🐍")
print("this goes to stderr", file=sys.stderr)
`,
  },
  {
    title: "Ask for input",
    code: `name = input("What is your name? ")
age = int(input("How old are you? "))
print(f"Hello, {name}! In ten years you will be {age + 10}.")
`,
  },
  {
    title: "Progress bar",
    code: `import time

for step in range(0, 101, 5):
    bar = "#" * (step // 5)
    print(f"\\r[{bar:<20}] {step:3d}%", end="", flush=True)
    time.sleep(0.1)
print("\\n\\x1b[32mdone\\x1b[0m")
`,
  },
  {
    title: "Exception",
    code: `def average(values):
    return sum(values) / len(values)

print("average of [] is", average([]))
`,
  },
  {
    title: "Plot (matplotlib)",
    code: `import matplotlib.pyplot as plt

months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
rainfall = [49, 36, 41, 47, 53, 58]

plt.bar(months, rainfall, color="#0b6bcb")
plt.title("Rainfall in Oslo (mm)")
plt.show()  # an image in the output, as in a notebook
`,
  },
  {
    title: "DataFrame (pandas)",
    code: `import pandas as pd

sales = pd.DataFrame({
    "city": ["Oslo", "Lima", "Pune", "Kyoto"],
    "units": [120, 95, 143, 88],
    "price": [9.5, 7.25, 6.0, 11.0],
})
sales["revenue"] = sales.units * sales.price

display(sales.sort_values("revenue", ascending=False))  # a table, as in a notebook
print("total revenue:", sales.revenue.sum())
`,
  },
  {
    title: "Runs forever (try Stop)",
    code: `import itertools, time

for i in itertools.count():
    print("tick", i, flush=True)
    time.sleep(0.5)
`,
  },
  {
    title: "Too much output",
    code: `# Prints until the output limit stops it: pick a limit above the editor.
i = 0
while True:
    print(f"line {i}: " + "x" * 60)
    i += 1
`,
  },
  {
    title: "Compute primes",
    code: `def primes(limit):
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\\x00\\x00"
    for n in range(2, int(limit ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(sieve[n * n :: n]))
    return [n for n, flag in enumerate(sieve) if flag]

found = primes(1_000_000)
print(len(found), "primes below a million; the last is", found[-1])
`,
  },
];

/** The cells the session mode starts with: each builds on the ones above it. */
export const SESSION_CELLS: string[] = [
  `import math

radius = 2.5
area = math.pi * radius ** 2
print(f"A circle of radius {radius} has an area of {area:.2f}")
`,
  `# A final expression's value is shown, as in a notebook
round(area * 2, 3)
`,
  `areas = {r: round(math.pi * r ** 2, 2) for r in range(1, 6)}
areas
`,
];
