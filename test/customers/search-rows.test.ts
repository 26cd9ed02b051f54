// A search reads about a page of D1 rows however many customers the tenant has: the FTS index
// gives the page's rowids and the customers are read by rowid, never through the tenant's index.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countingD1 } from "../../src/bench-d1-counter";
import type { ApiKeyCaller } from "../../src/context";
import { database } from "../../src/db/client";
import { listCustomers } from "../../src/modules/customers/customers.queries";
import { testContext } from "../context";
import { registerTenant } from "../harness";

const CUSTOMERS = 3_000;

describe("customer search", () => {
  it("reads about a page of rows, not the tenant's customers", async () => {
    const { tenantId } = await registerTenant();
    const now = Date.now();
    for (let start = 0; start < CUSTOMERS; start += 200) {
      const values = Array.from({ length: 200 }, (_, j) => {
        const i = start + j;
        return `('cus_rows${tenantId}${i}', '${tenantId}', 1, 'cus_stripe_rows${tenantId}${i}', 'r${i}@example.com', 'Reader ${i % 10 === 0 ? "Needle" : "Hay"}', '{}', 'active', ${now - i}, ${now})`;
      });
      await env.DB.prepare(
        `INSERT INTO customers (id, tenant_id, livemode, stripe_customer_id, email, name, metadata, status, created_at, updated_at) VALUES ${values.join(", ")}`,
      ).run();
    }
    const counter = countingD1(env.DB);
    const caller: ApiKeyCaller = {
      kind: "api_key",
      keyId: "key_rows",
      tenantId,
      companyName: "Rows Co",
      keyKind: "secret",
      mode: "live",
      tier: "pro",
    };
    const ctx = testContext({ db: database(counter.binding), caller });
    const page = await listCustomers(ctx, { limit: 50, search: "needle" });
    expect(page.page).toHaveLength(50);
    expect(page.hasMore).toBe(true);
    expect(page.page.every((customer) => customer.name === "Reader Needle")).toBe(true);
    // 51 FTS hits, 50 rowids from JSON, 50 customers: a few hundred at most, not 3,000.
    expect(counter.rowsRead()).toBeLessThan(400);

    const next = await listCustomers(testContext({ db: database(counter.binding), caller }), {
      limit: 50,
      search: "needle",
      cursor: page.nextCursor ?? "",
    });
    expect(next.page).toHaveLength(50);
    expect(new Set([...page.page, ...next.page].map((customer) => customer.id)).size).toBe(100);
  });
});
