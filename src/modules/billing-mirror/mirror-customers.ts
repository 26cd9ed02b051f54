// The mirror's customers: a Stripe snapshot as our row (a deleted one stays deleted), and the stub
// a subscription, invoice or session names before the customer's own event has come.
import type { CustomerRow } from "../../db/schema";
import { tenantMetadataOf } from "../../lib/metadata";
import { CUSTOMER_OWN_KEYS, serializeCustomer } from "../customers/customers.schemas";
import type { StripeEventLike } from "../platform-billing/stripe-mapping";
import { type MirrorRun, type Obj, obj, ourId, snapshotToApply, str } from "./mirror-run";
import { externalKey, idOf } from "./mirror-state";
import { customerPassed } from "./row-guards";
import { CUSTOMER_FIELDS, customerEventType } from "./rules";

function customerRow(
  run: MirrorRun,
  current: CustomerRow | undefined,
  snapshot: Obj,
  deleted: boolean,
  created: number | null,
): CustomerRow {
  const now = run.ctx.clock.now();
  // Stripe reads a deleted customer back as a stub (`{id, deleted: true}`): it confirms the
  // deletion and says nothing of the fields, which stay as the mirror last saw them.
  if (current && snapshot.deleted === true) {
    return {
      ...current,
      status: "deleted",
      deletedAt: current.deletedAt ?? now,
      lastEventCreated: created ?? current.lastEventCreated,
      updatedAt: now,
    };
  }
  const metadata = tenantMetadataOf(snapshot.metadata, CUSTOMER_OWN_KEYS);
  const stripeId = str(snapshot.id) ?? current?.stripeCustomerId ?? "";
  const livemode = current?.livemode ?? snapshot.livemode === true;
  // An external id another customer holds stays with it; this one keeps its own, if any.
  const external = str(obj(snapshot.metadata).external_id) || null;
  const externalId =
    external === null ||
    run.state.isFree("externalId", externalKey({ livemode, externalId: external }), stripeId)
      ? external
      : (current?.externalId ?? null);
  return {
    id: current?.id ?? ourId(run, "customer", obj(snapshot.metadata).customer_id, stripeId),
    tenantId: run.tenant.id,
    livemode,
    externalId,
    stripeCustomerId: stripeId,
    email: str(snapshot.email)?.toLowerCase() ?? null,
    name: str(snapshot.name),
    phone: str(snapshot.phone),
    description: str(snapshot.description),
    address:
      snapshot.address && typeof snapshot.address === "object"
        ? (snapshot.address as CustomerRow["address"])
        : null,
    metadata,
    status: deleted || snapshot.deleted === true ? "deleted" : "active",
    defaultPaymentMethod: idOf(obj(snapshot.invoice_settings).default_payment_method),
    deletedAt: deleted || snapshot.deleted === true ? (current?.deletedAt ?? now) : null,
    lastEventCreated: created ?? current?.lastEventCreated ?? null,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

export async function applyCustomer(run: MirrorRun, event: StripeEventLike, object: Obj): Promise<string> {
  const stripeId = str(object.id) ?? "";
  const current = run.state.customers.get(stripeId);
  const deleted = event.type === "customer.deleted";
  // Deletion is final at Stripe: any other event of a deleted customer is older than its
  // deletion (a retry, or one that waited), and changes nothing.
  if (current?.status === "deleted") return deleted ? "already deleted" : "ignored: the customer is deleted";
  const settled = deleted
    ? { snapshot: object }
    : await snapshotToApply(
        current,
        event.created,
        (snapshot) => customerRow(run, current, snapshot, false, event.created),
        CUSTOMER_FIELDS,
        object,
        () => run.current("customers", stripeId),
      );
  if ("skip" in settled) return settled.skip;
  // A deletion is Stripe's last word: stamped no earlier than the row, so that it lands and the
  // watermark never goes back.
  const stamp = deleted ? Math.max(event.created, current?.lastEventCreated ?? 0) : event.created;
  const next = customerRow(run, current, settled.snapshot, deleted, stamp);
  const type = customerEventType(current, next);
  run.state.putCustomer(next, !current);
  // A customer the API changed since the run read it (the run's snapshot then older, or read back
  // from Stripe after that change) was reported by the API.
  if (type)
    run.emit(type, serializeCustomer(next), next.livemode, current ? customerPassed(next) : undefined);
  return type ? `mirrored: ${type}` : "no change";
}

/** The customer row a reference names: known, or a stub the customer's own snapshot fills in later. */
export function customerFor(
  run: MirrorRun,
  stripeCustomerId: string,
  livemode: boolean,
  hint: { email?: unknown; name?: unknown } = {},
) {
  const known = run.state.customers.get(stripeCustomerId);
  if (known) return known;
  const stub = customerRow(
    run,
    undefined,
    { id: stripeCustomerId, email: hint.email, name: hint.name, livemode },
    false,
    null,
  );
  run.state.putCustomer(stub, true);
  run.emit("customer.created", serializeCustomer(stub), livemode);
  return stub;
}
