import { newId } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";

/** The largest event payload accepted at emit time; larger ones are refused, not truncated. */
export const MAX_EVENT_BYTES = 256 * 1024;

const encoder = new TextEncoder();
export const utf8Length = (text: string) => encoder.encode(text).byteLength;

/** 413 `payload_too_large` for a payload over MAX_EVENT_BYTES: refused, never truncated. */
export function refuseOversizedEvent(payload: string, type: string): void {
  // A payload of at most MAX_EVENT_BYTES / 3 UTF-16 units fits whatever it holds: no encoding needed.
  if (payload.length * 3 > MAX_EVENT_BYTES && utf8Length(payload) > MAX_EVENT_BYTES) {
    throw new ApiError("payload_too_large", `Event ${type} is larger than 256 KB and was not emitted`);
  }
}

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
