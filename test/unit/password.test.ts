import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS, passwordProblems, verifyPassword } from "../../src/lib/password";

describe("password hashing", () => {
  it("stores algorithm, iterations and a per-user salt, and verifies", async () => {
    const a = await hashPassword("CorrectHorse42");
    const b = await hashPassword("CorrectHorse42");
    expect(a).toMatch(
      new RegExp(`^pbkdf2_sha256\\$${PBKDF2_ITERATIONS}\\$[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}$`),
    );
    expect(a).not.toBe(b);
    expect(await verifyPassword("CorrectHorse42", a)).toEqual({ valid: true, needsRehash: false });
    expect((await verifyPassword("CorrectHorse43", a)).valid).toBe(false);
  });

  it("flags hashes made with fewer iterations for re-hashing", async () => {
    const weak = await hashPassword("CorrectHorse42", 1000);
    expect(await verifyPassword("CorrectHorse42", weak)).toEqual({ valid: true, needsRehash: true });
  });

  it("never accepts a missing or malformed hash", async () => {
    expect((await verifyPassword("anything", null)).valid).toBe(false);
    expect((await verifyPassword("anything", "md5$1$x$y")).valid).toBe(false);
    expect((await verifyPassword("anything", "")).valid).toBe(false);
  });
});

describe("password policy", () => {
  it.each([
    ["short1", "must be at least 10 characters"],
    ["onlyletterslong", "must contain letters and digits"],
    ["1234567890123", "must contain letters and digits"],
    ["x".repeat(129), "must be at most 128 characters"],
  ])("refuses %s", (password, problem) => {
    expect(passwordProblems(password)).toContain(problem);
  });

  it("refuses a password containing the email's name", () => {
    expect(passwordProblems("johnsmith2026x", "johnsmith@example.com")).toContain(
      "must not contain the email's name",
    );
  });

  it("accepts a reasonable password", () => {
    expect(passwordProblems("SecurePass123!", "admin@mysaas.com")).toEqual([]);
  });
});
