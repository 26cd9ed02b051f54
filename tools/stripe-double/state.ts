// The double's whole memory: Stripe objects (scoped to a connected account or the platform),
// Connect and OAuth bookkeeping, idempotency results, the request log, injected failures and
// emitted events. `resetState` empties everything but the webhook configuration.
import { randomBytes } from "node:crypto";
import type { ClockRule } from "./clock.ts";
import { noSuch } from "./errors.ts";
import type { FormObject } from "./form.ts";

export type Json = Record<string, unknown>;

export interface Stored {
  id: string;
  kind: string;
  /** The connected account the object lives in (Stripe-Account header at creation), or null. */
  account: string | null;
  seq: number;
  obj: Json;
}

export interface AccountMeta {
  connected: boolean;
  deleted: boolean;
  clientId: string | null;
}

export interface AccountLinkRecord {
  account: string;
  type: string;
  returnUrl: string;
  refreshUrl: string | null;
  expiresAt: number;
  used: boolean;
}

export interface OAuthCode {
  account: string;
  clientId: string;
  scope: string;
  livemode: boolean;
  used: boolean;
  expiresAt: number;
}

export interface SavedResponse {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
  /** Unix seconds, by the clock of the request that made it: Stripe prunes a key after 24 hours. */
  savedAt: number;
}

export interface LoggedRequest {
  id: string;
  time: number;
  method: string;
  path: string;
  query: FormObject;
  params: FormObject;
  headers: {
    authorization_present: boolean;
    stripe_account: string | null;
    idempotency_key: string | null;
    stripe_version: string | null;
    /** The Host the request was sent to (tells an API-host call from an OAuth-host call). */
    host: string | null;
  };
  status: number | null;
  idempotent_replayed: boolean;
  ignored_params: string[];
}

export interface FailRule {
  method: string | null;
  path: string | null;
  /** Only requests with this Stripe-Account header. */
  account: string | null;
  /** Only requests whose Idempotency-Key starts with this. */
  idempotencyKeyPrefix: string | null;
  status: number | null;
  error: Json | null;
  remaining: number;
  delayMs: number;
  hang: boolean;
}

export interface WebhookConfig {
  url: string | null;
  secret: string;
  connect_url: string | null;
  connect_secret: string;
}

export interface Delivery {
  url: string | null;
  status: "skipped" | "pending" | "delivered" | "failed";
  response_status: number | null;
  error: string | null;
  attempted_at: number | null;
}

export interface EventRecord {
  event: Json;
  account: string | null;
  delivery: Delivery;
}

/** What happens to a subscription invoice that keeps failing (`POST /__double/retry_schedule`). */
export interface RetrySchedule {
  /** Days after each failed attempt until the next one; its length is the number of retries. */
  delaysDays: number[];
  /** The subscription's status once the last retry failed. */
  after: "canceled" | "unpaid" | "past_due";
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { delaysDays: [1, 3, 5, 7], after: "canceled" };

export interface State {
  seq: number;
  objects: Map<string, Stored>;
  /** The double's own bookkeeping about an object (never rendered), by object id. */
  notes: Map<string, Json>;
  /** Retry schedules by `customer:<id>` or `account:<id|platform>`. */
  retrySchedules: Map<string, RetrySchedule>;
  accounts: Map<string, AccountMeta>;
  accountLinks: Map<string, AccountLinkRecord>;
  oauthCodes: Map<string, OAuthCode>;
  accessTokens: Map<string, string>;
  refreshTokens: Map<string, string>;
  revokedKeys: Set<string>;
  /** Payment method id -> the test token it was made from (pm_card_visa, ...). */
  pmSource: Map<string, string>;
  idempotency: Map<string, SavedResponse>;
  requests: LoggedRequest[];
  failures: FailRule[];
  /** Clock skews for chosen requests (`POST /__double/clock`). */
  clockRules: ClockRule[];
  events: EventRecord[];
  webhooks: WebhookConfig;
  initialWebhooks: WebhookConfig;
  pending: Set<Promise<void>>;
  strict: boolean;
}

export function createState(webhooks: Partial<WebhookConfig> = {}, strict = false): State {
  const initialWebhooks: WebhookConfig = {
    url: webhooks.url ?? null,
    secret: webhooks.secret ?? "whsec_test_platform",
    connect_url: webhooks.connect_url ?? null,
    connect_secret: webhooks.connect_secret ?? "whsec_test_connect",
  };
  return {
    seq: 0,
    objects: new Map(),
    notes: new Map(),
    retrySchedules: new Map(),
    accounts: new Map(),
    accountLinks: new Map(),
    oauthCodes: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
    revokedKeys: new Set(),
    pmSource: new Map(),
    idempotency: new Map(),
    requests: [],
    failures: [],
    clockRules: [],
    events: [],
    webhooks: { ...initialWebhooks },
    initialWebhooks,
    pending: new Set(),
    strict,
  };
}

export function resetState(state: State): void {
  const fresh = createState(state.initialWebhooks, state.strict);
  Object.assign(state, { ...fresh, pending: state.pending });
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function randomString(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export function newId(prefix: string, length = 24): string {
  return `${prefix}_${randomString(length)}`;
}

export { now } from "./clock.ts";

export function put(state: State, kind: string, account: string | null, obj: Json): Stored {
  const id = String(obj.id);
  const existing = state.objects.get(id);
  const stored: Stored = existing ?? { id, kind, account, seq: ++state.seq, obj };
  stored.obj = obj;
  state.objects.set(id, stored);
  return stored;
}

/** The object `id` of this kind, visible in `scope`, or undefined. */
export function find(state: State, kind: string, id: string, scope: string | null): Stored | undefined {
  const stored = state.objects.get(id);
  if (!stored || stored.kind !== kind || stored.account !== scope) return undefined;
  return stored;
}

export function mustFind(
  state: State,
  kind: string,
  id: string,
  scope: string | null,
  thing: string = kind,
  param = "id",
): Stored {
  const stored = find(state, kind, id, scope);
  if (!stored) throw noSuch(thing, id, param);
  return stored;
}

/** Objects of a kind in a scope, newest first (as Stripe lists them). */
export function all(state: State, kind: string, scope: string | null): Stored[] {
  const out: Stored[] = [];
  for (const s of state.objects.values()) if (s.kind === kind && s.account === scope) out.push(s);
  return out.sort((a, b) => b.seq - a.seq);
}

/** The double's private notes about object `id` (created empty on first use). */
export function note(state: State, id: string): Json {
  let n = state.notes.get(id);
  if (!n) {
    n = {};
    state.notes.set(id, n);
  }
  return n;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}
