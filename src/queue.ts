/**
 * Background work arrives on one queue as typed messages. Each kind has one handler; a handler
 * that throws gets its message retried with backoff, and after the last retry the message goes
 * to the dead-letter queue.
 */
export type QueueMessage = { kind: string; request_id?: string };

export type QueueHandler = (message: QueueMessage, env: Env, ctx: ExecutionContext) => Promise<void>;

const handlers: Record<string, QueueHandler> = {};

/** Registers the handler of a message kind (modules call this at import time). */
export function onQueueMessage(kind: string, handler: QueueHandler) {
  handlers[kind] = handler;
}

export async function handleQueueBatch(batch: MessageBatch<QueueMessage>, env: Env, ctx: ExecutionContext) {
  await Promise.all(
    batch.messages.map(async (message) => {
      const handler = handlers[message.body?.kind];
      if (!handler) {
        console.warn(
          JSON.stringify({ level: "warn", msg: "unknown queue message kind", kind: message.body?.kind }),
        );
        message.ack();
        return;
      }
      try {
        await handler(message.body, env, ctx);
        message.ack();
      } catch (error) {
        console.error(
          JSON.stringify({
            level: "error",
            msg: "queue message failed",
            kind: message.body.kind,
            attempts: message.attempts,
            request_id: message.body.request_id,
            error: String(error),
          }),
        );
        message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts) });
      }
    }),
  );
}
