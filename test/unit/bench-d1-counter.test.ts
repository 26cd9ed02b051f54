// The benchmark's D1 rows-read counter answers exactly what the binding answers, in every form
// drizzle uses (all, get, values via raw, run, batch), and adds up D1's `meta.rows_read`.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { countingD1 } from "../../src/bench-d1-counter";
import { database } from "../../src/db/client";
import { tenants } from "../../src/db/schema";
import { registerTenant } from "../harness";

describe("countingD1", () => {
  it("answers as the binding does and counts the rows D1 read", async () => {
    const { tenantId } = await registerTenant();
    const plain = database(env.DB);
    const counter = countingD1(env.DB);
    const counted = database(counter.binding);
    const query = (db: typeof plain) => db.select().from(tenants).where(eq(tenants.id, tenantId));
    const joined = (db: typeof plain) =>
      db.select({ id: tenants.id, name: tenants.companyName }).from(tenants).where(eq(tenants.id, tenantId));

    expect(await query(counted)).toEqual(await query(plain));
    expect(await query(counted).get()).toEqual(await query(plain).get());
    expect(await joined(counted).values()).toEqual(await joined(plain).values());
    const afterReads = counter.rowsRead();
    expect(afterReads).toBeGreaterThanOrEqual(3);

    const [one, two] = await counted.batch([query(counted), joined(counted)]);
    expect(one).toEqual(await query(plain));
    expect(two).toEqual(await joined(plain));
    expect(counter.rowsRead()).toBeGreaterThan(afterReads);

    const first = await counter.binding
      .prepare("SELECT id FROM tenants WHERE id = ?")
      .bind(tenantId)
      .first("id");
    expect(first).toBe(tenantId);
  });
});
