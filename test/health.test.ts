import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("meta routes", () => {
  it("answers /health with a request id", async () => {
    const res = await exports.default.fetch("http://api.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
  });
});
