import { newId } from "../../lib/crypto";

/** The largest event payload accepted at emit time; larger ones are refused, not truncated. */
export const MAX_EVENT_BYTES = 256 * 1024;

export interface EventEnvelope {
  id: string;
  object: "event";
  type: string;
  created: number;
  data: { object: unknown };
  livemode: boolean;
  tenant: { id: string; company_name: string };
}

/** The seed's envelope; `created` is unix seconds as in Stripe's events, and `id` is the delivery's stable id. */
export function buildEnvelope(input: {
  type: string;
  object: unknown;
  livemode: boolean;
  tenant: { id: string; company_name: string };
  now: Date;
  id?: string;
}): EventEnvelope {
  return {
    id: input.id ?? newId("evt"),
    object: "event",
    type: input.type,
    created: Math.floor(input.now.getTime() / 1000),
    data: { object: input.object },
    livemode: input.livemode,
    tenant: input.tenant,
  };
}
