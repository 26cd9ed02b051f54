import { checkWebhookUrl } from "../../lib/url-safety";
import { DELIVERY_TIMEOUT_MS } from "./retry-policy";
import { signatureHeaders } from "./signing";

const RESPONSE_BODY_LIMIT = 1024;

export interface SendInput {
  url: string;
  /** Current secret first, then a previous one still inside its 24 h rotation window. */
  secrets: string[];
  eventId: string;
  /** The exact bytes sent and signed. */
  body: string;
  allowInsecureLocalhost: boolean;
  timeoutMs?: number;
}

export interface SendResult {
  status?: number;
  error?: "timeout" | "network" | "blocked_url";
  errorMessage?: string;
  durationMs: number;
  /** The first 1 KB of the receiver's answer, for the delivery log. */
  responseBody: string;
  retryAfterHeader: string | null;
  url: string;
}

/**
 * The first `RESPONSE_BODY_LIMIT` bytes of the receiver's answer, decoded. An answer that declares
 * a length within the limit (most: `{"received":true}`, an empty 200) is read whole in one call;
 * any other is read chunk by chunk up to the limit and the rest cancelled, so a receiver sending
 * megabytes, or a stream that never ends, costs no more than the limit.
 */
async function readLimited(response: Response): Promise<string> {
  if (!response.body) return "";
  const declared = Number(response.headers.get("Content-Length") ?? Number.NaN);
  if (declared <= RESPONSE_BODY_LIMIT) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < RESPONSE_BODY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.slice(0, RESPONSE_BODY_LIMIT));
}

/**
 * One signed POST of an event, shared by the queue's deliveries and the synchronous test send.
 * The URL is checked against the SSRF rules again at every attempt; a fresh timestamp is signed
 * each time with the same `webhook-id`; redirects are not followed; 10 s is the limit.
 */
export async function sendSigned(input: SendInput): Promise<SendResult> {
  const started = Date.now();
  const checked = checkWebhookUrl(input.url, { allowInsecureLocalhost: input.allowInsecureLocalhost });
  if (!checked.ok) {
    return {
      error: "blocked_url",
      errorMessage: checked.reason,
      durationMs: 0,
      responseBody: "",
      retryAfterHeader: null,
      url: input.url,
    };
  }
  const url = checked.url.href;
  const headers = await signatureHeaders({
    id: input.eventId,
    timestamp: Math.floor(Date.now() / 1000),
    body: input.body,
    secrets: input.secrets,
  });
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json", "User-Agent": "edge-billing-webhooks/1.0" },
      body: input.body,
      redirect: "manual",
      signal: AbortSignal.timeout(input.timeoutMs ?? DELIVERY_TIMEOUT_MS),
    });
    const responseBody = await readLimited(response);
    return {
      status: response.status,
      durationMs: Date.now() - started,
      responseBody,
      retryAfterHeader: response.headers.get("Retry-After"),
      url,
    };
  } catch (error) {
    const timedOut =
      error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError");
    return {
      error: timedOut ? "timeout" : "network",
      errorMessage: timedOut
        ? "The endpoint did not answer within 10 seconds"
        : `Could not connect: ${String(error)}`,
      durationMs: Date.now() - started,
      responseBody: "",
      retryAfterHeader: null,
      url,
    };
  }
}
