import { env } from "cloudflare:workers";
import { expect } from "vitest";

/** The local webhook receiver (started by test/global-setup.ts); each test uses its own hook name. */
export const hookUrl = (name: string) => `${env.TEST_RECEIVER_URL}/hooks/${name}`;

export interface Step {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delay_ms?: number;
  hang?: boolean;
}

export async function behave(name: string, script: Step[], then: Step = { status: 200 }) {
  const res = await fetch(`${env.TEST_RECEIVER_URL}/__receiver/behaviour/${name}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ script, then }),
  });
  expect(res.status).toBeLessThan(300);
}

export interface Received {
  method: string;
  headers: Record<string, string>;
  body: string;
  received_at: number;
}

/** The requests a hook got, waiting (up to `timeoutMs`) until there are at least `min`. */
export async function received(name: string, min = 0, timeoutMs = 8000): Promise<Received[]> {
  const res = await fetch(
    `${env.TEST_RECEIVER_URL}/__receiver/requests/${name}?min=${min}&timeout_ms=${timeoutMs}`,
  );
  return (await res.json()) as Received[];
}
