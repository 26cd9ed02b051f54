import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { RequestContext } from "../../context";
import {
  analyticsDaily,
  analyticsReconciliations,
  customerSubscriptions,
  type ReconciliationRow,
  tenants,
} from "../../db/schema";
import { errorFields } from "../../lib/logger";
import { COUNTED_STATUSES, mrrStateOf, type PriceTerms } from "./mrr";
import { dayOf } from "./rollups";

/**
 * The reconcile job: a tenant's current MRR recomputed from its subscription mirror (the last
 * snapshot Stripe sent of each subscription) next to what the ledger's rollups say. Both come
 * from the same snapshots through the same MRR rule, so they agree unless something was lost
 * or a rule has a bug; any difference is recorded (operator API) and logged, never repaired
 * silently.
 */
const PAGE = 1000;
const DAY_MS = 86_400_000;
/** A tenant is checked once a day. */
const CHECK_EVERY_MS = DAY_MS;
/** Tenants checked per cron run (every 5 minutes: 1,440 tenants a day, each at most once). */
const TENANTS_PER_RUN = 5;
/** A mirror change this recent may still have its event in flight: reported, not a drift cause. */
const IN_FLIGHT_MS = 15 * 60_000;

export interface MirrorTerms extends PriceTerms {
  livemode: boolean;
}

export interface MirrorFigures {
  livemode: boolean;
  currency: string;
  mrr: number;
  subscribers: number;
}

const seriesKey = (livemode: boolean, currency: string) => `${livemode}|${currency}`;

/** MRR and paying subscriptions per mode and currency, as the mirror stands at `now`. */
export function mirrorFigures(subscriptions: MirrorTerms[], now: number): MirrorFigures[] {
  const figures = new Map<string, MirrorFigures>();
  for (const subscription of subscriptions) {
    const key = seriesKey(subscription.livemode, subscription.currency);
    const entry = figures.get(key) ?? {
      livemode: subscription.livemode,
      currency: subscription.currency,
      mrr: 0,
      subscribers: 0,
    };
    const state = mrrStateOf(subscription);
    const mrr =
      state.discountEndsAt !== null && state.discountEndsAt <= now
        ? (state.mrrAfterDiscount ?? state.mrr)
        : state.mrr;
    entry.mrr += mrr;
    if (mrr > 0) entry.subscribers += 1;
    figures.set(key, entry);
  }
  return [...figures.values()];
}

/**
 * The mirror's subscriptions in a status that counts (the others add nothing), read by the
 * (tenant, mode, status) index in pages of rowids: a check costs O(counted subscriptions).
 */
async function mirrorOf(ctx: RequestContext, tenantId: string): Promise<MirrorTerms[]> {
  const all: MirrorTerms[] = [];
  for (const livemode of [false, true]) {
    for (const status of COUNTED_STATUSES) {
      let after = 0;
      for (;;) {
        const page = await ctx.db
          .select({
            rowid: sql<number>`rowid`,
            livemode: customerSubscriptions.livemode,
            status: customerSubscriptions.status,
            unitAmount: customerSubscriptions.unitAmount,
            quantity: customerSubscriptions.quantity,
            currency: customerSubscriptions.currency,
            interval: customerSubscriptions.interval,
            intervalCount: customerSubscriptions.intervalCount,
            discount: customerSubscriptions.discount,
          })
          .from(customerSubscriptions)
          .where(
            and(
              eq(customerSubscriptions.tenantId, tenantId),
              eq(customerSubscriptions.livemode, livemode),
              eq(customerSubscriptions.status, status),
              sql`rowid > ${after}`,
            ),
          )
          .orderBy(sql`rowid`)
          .limit(PAGE);
        all.push(...page);
        const last = page.at(-1);
        if (!last || page.length < PAGE) break;
        after = last.rowid;
      }
    }
  }
  return all;
}

/** Subscriptions the mirror changed in the last minutes, per series: their events may be in flight. */
async function recentChanges(ctx: RequestContext, tenantId: string, now: number) {
  return ctx.db
    .select({
      livemode: customerSubscriptions.livemode,
      currency: customerSubscriptions.currency,
      count: sql<number>`count(*)`,
    })
    .from(customerSubscriptions)
    .where(
      and(
        eq(customerSubscriptions.tenantId, tenantId),
        gt(customerSubscriptions.updatedAt, new Date(now - IN_FLIGHT_MS)),
      ),
    )
    .groupBy(customerSubscriptions.livemode, customerSubscriptions.currency);
}

/** The rollups' stocks today for every series of the tenant: one row per series. */
async function ledgerOf(ctx: RequestContext, tenantId: string, today: number) {
  return ctx.db
    .select({
      livemode: analyticsDaily.livemode,
      currency: analyticsDaily.currency,
      mrr: analyticsDaily.mrr,
      subscribers: analyticsDaily.subscribers,
    })
    .from(analyticsDaily)
    .where(
      and(
        eq(analyticsDaily.tenantId, tenantId),
        sql`${analyticsDaily.bucket} = (SELECT max(x.bucket) FROM ${analyticsDaily} x
          WHERE x.tenant_id = ${analyticsDaily.tenantId} AND x.livemode = ${analyticsDaily.livemode}
            AND x.currency = ${analyticsDaily.currency} AND x.bucket <= ${today})`,
      ),
    );
}

/** Checks one tenant now: records each series' figures and logs any drift. */
export async function reconcileTenant(ctx: RequestContext, tenantId: string): Promise<ReconciliationRow[]> {
  const now = ctx.clock.now();
  const [mirror, ledger, recent] = await Promise.all([
    mirrorOf(ctx, tenantId),
    ledgerOf(ctx, tenantId, dayOf(now.getTime())),
    recentChanges(ctx, tenantId, now.getTime()),
  ]);
  const fromMirror = mirrorFigures(mirror, now.getTime());
  const keys = new Set([
    ...fromMirror.map((f) => seriesKey(f.livemode, f.currency)),
    ...ledger.map((l) => seriesKey(l.livemode, l.currency)),
    ...recent.map((r) => seriesKey(r.livemode, r.currency)),
  ]);
  const rows: ReconciliationRow[] = [...keys].sort().map((key) => {
    const [mode, currency = ""] = key.split("|");
    const livemode = mode === "true";
    const m = fromMirror.find((f) => f.livemode === livemode && f.currency === currency);
    const l = ledger.find((f) => f.livemode === livemode && f.currency === currency);
    const mirrorMrr = m?.mrr ?? 0;
    const ledgerMrr = l?.mrr ?? 0;
    return {
      tenantId,
      livemode,
      currency,
      checkedAt: now,
      mirrorMrr,
      ledgerMrr,
      mirrorSubscribers: m?.subscribers ?? 0,
      ledgerSubscribers: l?.subscribers ?? 0,
      drift: mirrorMrr - ledgerMrr,
      recentlyChanged: recent.find((r) => r.livemode === livemode && r.currency === currency)?.count ?? 0,
    };
  });
  if (rows.length) {
    await ctx.db.batch([
      ctx.db.delete(analyticsReconciliations).where(eq(analyticsReconciliations.tenantId, tenantId)),
      ...rows.map((row) => ctx.db.insert(analyticsReconciliations).values(row)),
    ]);
  }
  for (const row of rows) {
    if (row.drift === 0 && row.mirrorSubscribers === row.ledgerSubscribers) continue;
    ctx.log.error("analytics drift", {
      tenant_id: tenantId,
      livemode: row.livemode,
      currency: row.currency,
      mirror_mrr: row.mirrorMrr,
      ledger_mrr: row.ledgerMrr,
      mirror_subscribers: row.mirrorSubscribers,
      ledger_subscribers: row.ledgerSubscribers,
      recently_changed: row.recentlyChanged,
    });
  }
  return rows;
}

/** Cron: the tenants with subscriptions not checked in the last day, a few per run. */
export async function reconcileDueTenants(ctx: RequestContext): Promise<number> {
  const now = ctx.clock.now().getTime();
  const due = await ctx.db
    .select({ id: tenants.id })
    .from(tenants)
    .where(
      and(
        sql`EXISTS (SELECT 1 FROM ${customerSubscriptions} s WHERE s.tenant_id = ${tenants.id})`,
        sql`NOT EXISTS (SELECT 1 FROM ${analyticsReconciliations} r WHERE r.tenant_id = ${tenants.id}
          AND r.checked_at > ${now - CHECK_EVERY_MS})`,
      ),
    )
    .orderBy(asc(tenants.id))
    .limit(TENANTS_PER_RUN);
  for (const tenant of due) {
    try {
      await reconcileTenant(ctx, tenant.id);
    } catch (error) {
      // One tenant's failure does not hold up the others; it stays due for the next run.
      ctx.log.error("analytics reconcile failed", { tenant_id: tenant.id, ...errorFields(error) });
    }
  }
  return due.length;
}
