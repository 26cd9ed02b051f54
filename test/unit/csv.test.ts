import { describe, expect, it } from "vitest";
import { toCsv } from "../../src/lib/csv";

const line = (row: Parameters<typeof toCsv>[0][number]) => toCsv([row]).split("\r\n")[1];

describe("toCsv", () => {
  it("neutralises a text cell a spreadsheet would run as a formula (OWASP): a quote before it, quoted", () => {
    expect(line({ name: '=HYPERLINK("http://evil.example","x")' })).toBe(
      `"'=HYPERLINK(""http://evil.example"",""x"")"`,
    );
    expect(line({ name: "+1+2" })).toBe(`"'+1+2"`);
    expect(line({ name: "-2+3" })).toBe(`"'-2+3"`);
    expect(line({ email: "@SUM(1,1)" })).toBe(`"'@SUM(1,1)"`);
    expect(line({ note: "\t=1" })).toBe(`"'\t=1"`);
    expect(line({ note: "\r=1" })).toBe(`"'\r=1"`);
    // A text cell that merely looks like a negative number is text too.
    expect(line({ metadata: "-5" })).toBe(`"'-5"`);
  });

  it("keeps numbers as numbers, negative ones included, and plain text as it was", () => {
    expect(line({ amount: -12000, mrr: 0, rate: -0.25, ok: true, none: null })).toBe("-12000,0,-0.25,true,");
    expect(line({ name: "Basic", date: "2026-03-01", text: "a, b", quote: 'say "hi"' })).toBe(
      `Basic,2026-03-01,"a, b","say ""hi"""`,
    );
    expect(line({ name: "a=b", email: "x@example.com" })).toBe("a=b,x@example.com");
  });
});
