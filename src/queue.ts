import { deadLetters } from "./db/schema";
import { newId } from "./lib/crypto";
import { database } from "./middleware/services";

/**
 * Background work arrives on one queue as typed messages. Messages of one kind in a batch are
 * handled together (so a batch of deliveries for one tenant is one call to its coordinator);
 * a failed group is retried with backoff, and after the last retry lands in the dead-letter
 * queue, whose consumer records it in D1 so nothing is lost silently.
 */
export interface QueueMessage {
  kind: string;
  tenant_id?: string;
  request_id?: string;
}

/**
 * Handles the messages of one kind in a batch. It may answer the messages to retry (with backoff)
 * while the others are acknowledged; throwing retries them all.
 */
export type BatchHandler = (
  messages: Message<QueueMessage>[],
  env: Env,
  ctx: ExecutionContext,
) => Promise<Message<QueueMessage>[] | undefined>;

/** Queues' own retry delay for a message's next attempt: 2, 4, 8 ... seconds, at most 5 minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(300, 2 ** attempts);

const handlers = new Map<string, BatchHandler>();

/** Registers the handler of a message kind (modules call this once, at import time). */
export function onQueueMessages(kind: string, handler: BatchHandler) {
  handlers.set(kind, handler);
}

const isDeadLetterQueue = (name: string) => name.endsWith("-dlq");

export async function handleQueueBatch(batch: MessageBatch<QueueMessage>, env: Env, ctx: ExecutionContext) {
  if (isDeadLetterQueue(batch.queue)) {
    await recordDeadLetters(batch, env);
    return;
  }
  const byKind = new Map<string, Message<QueueMessage>[]>();
  for (const message of batch.messages) {
    const kind = message.body?.kind ?? "unknown";
    byKind.set(kind, [...(byKind.get(kind) ?? []), message]);
  }
  await Promise.all(
    [...byKind].map(async ([kind, messages]) => {
      const handler = handlers.get(kind);
      if (!handler) {
        console.warn(JSON.stringify({ level: "warn", msg: "unknown queue message kind", kind }));
        for (const message of messages) message.ack();
        return;
      }
      try {
        const retry = new Set(await handler(messages, env, ctx));
        for (const message of messages) {
          if (retry.has(message)) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
          else message.ack();
        }
      } catch (error) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "queue messages failed",
            kind,
            count: messages.length,
            error: String(error),
          }),
        );
        for (const message of messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
    }),
  );
}

async function recordDeadLetters(batch: MessageBatch<QueueMessage>, env: Env) {
  const db = database(env.DB);
  const rows = batch.messages.map((message) => ({
    id: newId("dlq"),
    queue: batch.queue,
    kind: message.body?.kind ?? null,
    tenantId: message.body?.tenant_id ?? null,
    body: JSON.stringify(message.body),
    attempts: message.attempts,
    createdAt: new Date(),
  }));
  if (rows.length) await db.insert(deadLetters).values(rows);
  console.error(
    JSON.stringify({ level: "error", msg: "messages dead-lettered", queue: batch.queue, count: rows.length }),
  );
  batch.ackAll();
}
