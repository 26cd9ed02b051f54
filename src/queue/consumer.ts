import { createContext, type RequestContext } from "../context";
import { deadLetters } from "../db/schema";
import { newId } from "../lib/crypto";
import { errorFields } from "../lib/logger";
import { QUEUE_HANDLERS } from "./handlers";
import type { QueueMessage, QueueMessageKind } from "./messages";

/**
 * Handles the messages of one kind in a batch (so a batch of deliveries for one tenant is one
 * call to its coordinator). It may answer the messages to retry (with backoff) while the others
 * are acknowledged; throwing retries them all.
 */
export type QueueHandler<K extends QueueMessageKind> = (
  ctx: RequestContext,
  messages: Message<Extract<QueueMessage, { kind: K }>>[],
) => Promise<Message<QueueMessage>[] | undefined>;

export type QueueHandlers = { [K in QueueMessageKind]: QueueHandler<K> };

/** Queues' own retry delay for a message's next attempt: 2, 4, 8 ... seconds, at most 5 minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(300, 2 ** attempts);

const isDeadLetterQueue = (name: string) => name.endsWith("-dlq");

function isKind<K extends QueueMessageKind>(
  message: Message<QueueMessage>,
  kind: K,
): message is Message<Extract<QueueMessage, { kind: K }>> {
  return message.body?.kind === kind;
}

/**
 * The queue consumer: messages grouped by kind, each group to its handler (`./handlers.ts`); a
 * failed group is retried with backoff, and after the last retry lands in the dead-letter queue,
 * whose consumer records it in D1 so nothing is lost silently.
 */
export async function handleQueueBatch(
  batch: MessageBatch<QueueMessage>,
  env: Env,
  execution: ExecutionContext,
) {
  const requestId = batch.messages.find((message) => message.body?.request_id)?.body.request_id;
  const ctx = createContext(env, {
    requestId: requestId ?? crypto.randomUUID(),
    route: `queue ${batch.queue}`,
    waitUntil: (promise) => execution.waitUntil(promise),
  });
  if (isDeadLetterQueue(batch.queue)) {
    await recordDeadLetters(ctx, batch);
    return;
  }
  const kinds = Object.keys(QUEUE_HANDLERS) as QueueMessageKind[];
  const known = new Set<Message<QueueMessage>>();
  await Promise.all(
    kinds.map((kind) => {
      const messages = batch.messages.filter((message) => isKind(message, kind));
      for (const message of messages) known.add(message);
      return messages.length ? runGroup(ctx, kind, messages) : undefined;
    }),
  );
  for (const message of batch.messages.filter((m) => !known.has(m))) {
    ctx.log.warn("unknown queue message kind", { kind: String(message.body?.kind) });
    message.ack();
  }
}

async function runGroup<K extends QueueMessageKind>(
  ctx: RequestContext,
  kind: K,
  messages: Message<Extract<QueueMessage, { kind: K }>>[],
) {
  const handler: QueueHandler<K> = QUEUE_HANDLERS[kind];
  try {
    const retry = new Set<Message<QueueMessage>>(await handler(ctx, messages));
    for (const message of messages) {
      if (retry.has(message)) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      else message.ack();
    }
  } catch (error) {
    ctx.log.error("queue messages failed", {
      kind,
      count: messages.length,
      outcome: "retry",
      ...errorFields(error),
    });
    for (const message of messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
}

async function recordDeadLetters(ctx: RequestContext, batch: MessageBatch<QueueMessage>) {
  const rows = batch.messages.map((message) => ({
    id: newId("dlq"),
    queue: batch.queue,
    kind: message.body?.kind ?? null,
    tenantId: message.body?.kind === "webhook.deliver" ? message.body.tenant_id : null,
    body: JSON.stringify(message.body),
    attempts: message.attempts,
    createdAt: ctx.clock.now(),
  }));
  if (rows.length) await ctx.db.insert(deadLetters).values(rows);
  ctx.log.error("messages dead-lettered", { queue: batch.queue, count: rows.length, outcome: "dead_letter" });
  batch.ackAll();
}
