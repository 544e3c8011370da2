import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHealthMonitor } from "./healthMonitor";
import { defaultTimers } from "./timers";

describe("createHealthMonitor", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(delay = 1000) {
    let release: (() => void) | undefined;
    const check = vi.fn(
      () =>
        new Promise<string>((resolve) => {
          release = () => resolve("ok");
        }),
    );
    const nextDelay = vi.fn(() => delay);
    const monitor = createHealthMonitor({ timers: defaultTimers, check, nextDelay });
    return { monitor, check, nextDelay, release: () => release?.() };
  }

  it("does nothing until started", async () => {
    const { check } = setup();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(check).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("checks at once on start, then after each check settles by nextDelay", async () => {
    const { monitor, check, release } = setup(1000);
    monitor.start();
    monitor.start();
    expect(check).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(check).toHaveBeenCalledTimes(1);
    release();
    await vi.advanceTimersByTimeAsync(999);
    expect(check).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(check).toHaveBeenCalledTimes(2);
  });

  it("never runs two checks at once: check() joins the one in flight", async () => {
    const { monitor, check, release } = setup();
    monitor.start();
    const joined = monitor.check();
    expect(check).toHaveBeenCalledTimes(1);
    release();
    await expect(joined).resolves.toBe("ok");
  });

  it("an explicit check restarts the schedule", async () => {
    const { monitor, check, release } = setup(1000);
    monitor.start();
    release();
    await vi.advanceTimersByTimeAsync(600);
    const explicit = monitor.check();
    release();
    await explicit;
    await vi.advanceTimersByTimeAsync(600);
    expect(check).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(400);
    expect(check).toHaveBeenCalledTimes(3);
  });

  it("stop() cancels the schedule; a check in flight then schedules nothing", async () => {
    const { monitor, check, release } = setup(1000);
    monitor.start();
    monitor.stop();
    release();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(check).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(monitor.running).toBe(false);
  });

  it("keeps polling after a failed check", async () => {
    let calls = 0;
    const monitor = createHealthMonitor({
      timers: defaultTimers,
      check: async () => {
        calls++;
        throw new Error("down");
      },
      nextDelay: () => 500,
    });
    monitor.start();
    await vi.advanceTimersByTimeAsync(1500);
    expect(calls).toBe(4);
  });
});
