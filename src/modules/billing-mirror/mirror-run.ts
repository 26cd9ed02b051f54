// One run of Connect events over the mirror, and what every applier shares: the tenant events it
// emits, Stripe's current state to settle a tie of one second, and our id for a Stripe object.
import type { SQL } from "drizzle-orm";
import type { RequestContext } from "../../context";
import type { TenantRow } from "../../db/schema";
import { isIdOf, newId } from "../../lib/crypto";
import { AnalyticsRun } from "../analytics/analytics-run";
import { type PreparedEvent, prepareEvent } from "../webhooks/events.service";
import type { MirrorState } from "./mirror-state";
import { differs, freshness } from "./rules";

export type Obj = Record<string, unknown>;
export const obj = (value: unknown): Obj => (value && typeof value === "object" ? (value as Obj) : {});
export const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** One run of mirror events: what it decided, for the run's single D1 batch. */
export class MirrorRun {
  readonly events: PreparedEvent[] = [];
  /**
   * The query that, finding a row when the run commits, means an event was reported already (by
   * the API, after this run read the row): the event is then not written. By event id.
   */
  readonly unlessRecorded = new Map<string, SQL>();
  /** What the run's events add to the tenant's analytics (MRR states, payments). */
  readonly analytics: AnalyticsRun;

  constructor(
    readonly ctx: RequestContext,
    readonly tenant: TenantRow,
    readonly state: MirrorState,
    readonly stripeAccount: string | null,
  ) {
    this.analytics = new AnalyticsRun(ctx, tenant.id);
  }

  emit(type: string, object: unknown, livemode: boolean, unlessRecorded?: SQL) {
    const event = prepareEvent(
      { tenantId: this.tenant.id, companyName: this.tenant.companyName, type, object, livemode },
      this.ctx.clock.now(),
    );
    this.events.push(event);
    if (unlessRecorded) this.unlessRecorded.set(event.row.id, unlessRecorded);
  }

  /** The object's current state at Stripe, to settle two snapshots of the same second. */
  current(kind: "customers" | "subscriptions" | "invoices", id: string): Promise<Obj> {
    const options = this.stripeAccount ? { stripeAccount: this.stripeAccount } : {};
    const stripe = this.ctx.stripe;
    const read: Promise<unknown> =
      kind === "customers"
        ? stripe.customers.retrieve(id, {}, options)
        : kind === "subscriptions"
          ? stripe.subscriptions.retrieve(id, { expand: ["discounts", "discounts.source.coupon"] }, options)
          : stripe.invoices.retrieve(id, { expand: ["payments"] }, options);
    return read.then(obj);
  }
}

/** Settles freshness: the snapshot to apply, or why nothing changes. */
export async function snapshotToApply<T extends object>(
  current: (T & { lastEventCreated: number | null }) | undefined,
  created: number,
  build: (snapshot: Obj) => T,
  fields: readonly (keyof T)[],
  snapshot: Obj,
  refetch: () => Promise<Obj>,
): Promise<{ snapshot: Obj } | { skip: string }> {
  const fresh = freshness(current?.lastEventCreated ?? null, created);
  if (fresh === "stale") return { skip: "stale: a newer snapshot was applied" };
  if (fresh === "tie" && current && differs(current, build(snapshot), fields)) {
    return { snapshot: await refetch() };
  }
  return { snapshot };
}

const ID_PREFIXES = { customer: "cust", subscription: "subs", invoice: "inv" } as const;

/**
 * Our id carried in Stripe metadata when it is one of ours and no other Stripe object holds it
 * (metadata copied from another object), else a new one.
 */
export function ourId(
  run: MirrorRun,
  kind: keyof typeof ID_PREFIXES,
  value: unknown,
  stripeId: string,
): string {
  const prefix = ID_PREFIXES[kind];
  const id = str(value);
  return isIdOf(prefix, id) && run.state.isFree(kind, id, stripeId) ? id : newId(prefix);
}
