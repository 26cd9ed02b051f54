import { describe, expect, it } from "vitest";
import { eventually } from "../eventually";

describe("eventually", () => {
  it("returns the probe's value at once when it passes the first time", async () => {
    let calls = 0;
    const started = Date.now();
    expect(await eventually(() => ++calls, { intervalMs: 1_000 })).toBe(1);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("retries a failing assertion until it passes, then returns", async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls++;
        expect(calls).toBeGreaterThanOrEqual(4);
        return `done after ${calls}`;
      },
      { intervalMs: 5 },
    );
    expect(value).toBe("done after 4");
    expect(calls).toBe(4);
  });

  it("throws the last error once the time is up", async () => {
    let calls = 0;
    const started = Date.now();
    const failure = eventually(
      () => {
        calls++;
        throw new Error(`attempt ${calls} failed`);
      },
      { timeoutMs: 100, intervalMs: 10 },
    );
    await expect(failure).rejects.toThrow(
      /^attempt (\d+) failed \(still failing after \1 attempts in 100 ms\)$/,
    );
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("keeps an assertion's own message", async () => {
    await expect(eventually(() => expect(1).toBe(2), { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      /expected 1 to be 2/,
    );
  });
});
