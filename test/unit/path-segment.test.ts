import { describe, expect, it } from "vitest";
import { segment } from "../../web/src/lib/path";

const CUSTOMERS = "/api/v1/auth/customers";

describe("segment: an id from the dashboard's address as one API path segment", () => {
  it.each(["cust_abc", "..", ".", "...", "../stripe/connect?", "..%2F..%2Fstripe%2Fconnect%3F", "a b"])(
    "%s stays one segment under its route",
    (id) => {
      const { pathname, search } = new URL(`${CUSTOMERS}/${segment(id)}`, "https://billing.example");
      expect(search).toBe("");
      expect(pathname.startsWith(`${CUSTOMERS}/`)).toBe(true);
      expect(pathname.slice(CUSTOMERS.length + 1)).not.toContain("/");
      expect(pathname.slice(CUSTOMERS.length + 1)).not.toBe("");
    },
  );
});
