import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { errorFields, errorMessage } from "../../src/lib/logger";
import { testContext } from "../context";

describe("errorFields", () => {
  it("names a failed query and its cause, never its bound values (passwords' hashes, secrets, emails)", async () => {
    const secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ=";
    const failed = await testContext()
      .db.run(sql`UPDATE no_such_table SET secret = ${secret} WHERE id = ${"usr_x"}`)
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failed).toBeInstanceOf(Error);
    const fields = errorFields(failed);
    expect(JSON.stringify(fields)).not.toContain(secret);
    expect(fields.error).toContain("no_such_table");
    expect(fields.error).toMatch(/no such table/);
  });

  it("keeps an ordinary error's message and stack", () => {
    const fields = errorFields(new TypeError("boom"));
    expect(fields.error).toBe("TypeError: boom");
    expect(fields.stack).toContain("boom");
  });
});

describe("errorMessage", () => {
  it("gives a failed query without its bound values, for a stored outcome; an ordinary error's message as it is", async () => {
    const secret = "pbkdf2$100000$c2FsdA$aGFzaC10aGF0LW11c3Qtbm90LWJlLXN0b3JlZA";
    const failed = await testContext()
      .db.run(sql`UPDATE no_such_table SET password_hash = ${secret}`)
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(errorMessage(failed)).not.toContain(secret);
    expect(errorMessage(failed)).toMatch(/no such table/);
    expect(errorMessage(new Error("injected failure"))).toBe("injected failure");
  });
});
