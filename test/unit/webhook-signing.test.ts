import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateWebhookSecret,
  maskWebhookSecret,
  signatureHeaders,
  verifyStandardWebhooks,
  verifyStripeStyle,
} from "../../src/modules/webhooks/signing";

const encoder = new TextEncoder();

/** Independent HMAC-SHA256 with Web Crypto, so the known-answer tests do not reuse the module's helpers. */
async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
}

function decodeBase64(value: string): Uint8Array {
  return Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PREVIOUS = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const T = 1_700_000_000;
const BODY = '{"type":"invoice.paid","data":{"id":"in_123","amount":4200}}';

describe("webhook secrets", () => {
  it("are whsec_ + base64 of 32 random bytes, distinct each time", () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const secret = generateWebhookSecret();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(decodeBase64(secret.slice("whsec_".length)).byteLength).toBe(32);
      secrets.add(secret);
    }
    expect(secrets.size).toBe(50);
  });

  it("are masked to the prefix and the last four characters", () => {
    expect(maskWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toBe("whsec_****...LaSw");
    const secret = generateWebhookSecret();
    const masked = maskWebhookSecret(secret);
    expect(masked).toBe(`whsec_****...${secret.slice(-4)}`);
    expect(masked).not.toContain(secret.slice(6, 40));
  });
});

describe("signatureHeaders", () => {
  it("returns exactly the four headers", async () => {
    const headers = await signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [SECRET] });
    expect(Object.keys(headers).sort()).toEqual(
      ["X-Webhook-Signature", "webhook-id", "webhook-signature", "webhook-timestamp"].sort(),
    );
    expect(headers["webhook-id"]).toBe(ID);
    expect(headers["webhook-timestamp"]).toBe(String(T));
  });

  it("matches an independent computation of both schemes", async () => {
    const headers = await signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [SECRET] });
    const stripeHex = hex(await hmac(encoder.encode(SECRET), `${T}.${BODY}`));
    const standardB64 = base64(await hmac(decodeBase64(SECRET.slice(6)), `${ID}.${T}.${BODY}`));
    expect(headers["X-Webhook-Signature"]).toBe(`t=${T},v1=${stripeHex}`);
    expect(headers["webhook-signature"]).toBe(`v1,${standardB64}`);
  });

  it("matches the Standard Webhooks specification's published example", async () => {
    // From the spec's test vectors (also used by the reference libraries).
    const headers = await signatureHeaders({
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    });
    expect(headers["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("carries one entry per secret during a rotation, each verifying alone", async () => {
    const headers = await signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [SECRET, PREVIOUS] });
    const stripeEntries = headers["X-Webhook-Signature"].split(",");
    expect(stripeEntries[0]).toBe(`t=${T}`);
    expect(stripeEntries.filter((entry) => entry.startsWith("v1="))).toHaveLength(2);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);

    const standard = {
      id: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
    };
    for (const secret of [SECRET, PREVIOUS]) {
      expect(await verifyStripeStyle(headers["X-Webhook-Signature"], BODY, secret, T)).toBe(true);
      expect(await verifyStandardWebhooks(standard, BODY, secret, T)).toBe(true);
    }
    const stranger = generateWebhookSecret();
    expect(await verifyStripeStyle(headers["X-Webhook-Signature"], BODY, stranger, T)).toBe(false);
    expect(await verifyStandardWebhooks(standard, BODY, stranger, T)).toBe(false);
  });

  it("refuses no secrets and fractional timestamps", async () => {
    await expect(signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [] })).rejects.toThrow();
    await expect(
      signatureHeaders({ id: ID, timestamp: T + 0.5, body: BODY, secrets: [SECRET] }),
    ).rejects.toThrow();
  });
});

describe("verifiers", () => {
  async function signed() {
    const headers = await signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [SECRET] });
    return {
      stripe: headers["X-Webhook-Signature"],
      standard: {
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        signature: headers["webhook-signature"],
      },
    };
  }

  it("accept the untouched delivery", async () => {
    const { stripe, standard } = await signed();
    expect(await verifyStripeStyle(stripe, BODY, SECRET, T)).toBe(true);
    expect(await verifyStandardWebhooks(standard, BODY, SECRET, T)).toBe(true);
  });

  it("refuse a tampered body", async () => {
    const { stripe, standard } = await signed();
    const tampered = BODY.replace("4200", "4201");
    expect(await verifyStripeStyle(stripe, tampered, SECRET, T)).toBe(false);
    expect(await verifyStandardWebhooks(standard, tampered, SECRET, T)).toBe(false);
  });

  it("refuse a tampered id or timestamp", async () => {
    const { stripe, standard } = await signed();
    expect(await verifyStripeStyle(stripe.replace(`t=${T}`, `t=${T + 1}`), BODY, SECRET, T)).toBe(false);
    expect(await verifyStandardWebhooks({ ...standard, id: `${ID}x` }, BODY, SECRET, T)).toBe(false);
    expect(await verifyStandardWebhooks({ ...standard, timestamp: String(T + 1) }, BODY, SECRET, T)).toBe(
      false,
    );
  });

  it.each([
    [T - 300, true],
    [T + 300, true],
    [T - 301, false],
    [T + 301, false],
  ])("signed at %s, verified at T: %s (five-minute tolerance both ways)", async (signedAt, valid) => {
    const headers = await signatureHeaders({ id: ID, timestamp: signedAt, body: BODY, secrets: [SECRET] });
    const standard = {
      id: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
    };
    expect(await verifyStripeStyle(headers["X-Webhook-Signature"], BODY, SECRET, T)).toBe(valid);
    expect(await verifyStandardWebhooks(standard, BODY, SECRET, T)).toBe(valid);
  });

  it("honour a custom tolerance", async () => {
    const { stripe, standard } = await signed();
    expect(await verifyStripeStyle(stripe, BODY, SECRET, T + 60, 30)).toBe(false);
    expect(await verifyStandardWebhooks(standard, BODY, SECRET, T + 60, 30)).toBe(false);
    expect(await verifyStripeStyle(stripe, BODY, SECRET, T + 60, 60)).toBe(true);
  });

  it.each(["", "garbage", `t=${T}`, "v1=00", `t=abc,v1=00`, `t=${T},v0=00`])(
    "refuse the malformed Stripe-style header %j",
    async (header) => {
      expect(await verifyStripeStyle(header, BODY, SECRET, T)).toBe(false);
    },
  );

  it("refuse malformed Standard Webhooks headers", async () => {
    const { standard } = await signed();
    expect(await verifyStandardWebhooks({ ...standard, timestamp: "" }, BODY, SECRET, T)).toBe(false);
    expect(await verifyStandardWebhooks({ ...standard, timestamp: "1e9" }, BODY, SECRET, T)).toBe(false);
    expect(await verifyStandardWebhooks({ ...standard, signature: "" }, BODY, SECRET, T)).toBe(false);
    const v2 = standard.signature.replace("v1,", "v2,");
    expect(await verifyStandardWebhooks({ ...standard, signature: v2 }, BODY, SECRET, T)).toBe(false);
  });
});

describe("the official standardwebhooks package", () => {
  it("verifies our headers, with one secret and during a rotation", async () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = await signatureHeaders({
      id: ID,
      timestamp: now,
      body: BODY,
      secrets: [SECRET, PREVIOUS],
    });
    const received = {
      "webhook-id": headers["webhook-id"],
      "webhook-timestamp": headers["webhook-timestamp"],
      "webhook-signature": headers["webhook-signature"],
    };
    expect(new Webhook(SECRET).verify(BODY, received)).toEqual(JSON.parse(BODY));
    expect(new Webhook(PREVIOUS).verify(BODY, received)).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(generateWebhookSecret()).verify(BODY, received)).toThrow();
    expect(() => new Webhook(SECRET).verify(`${BODY} `, received)).toThrow();
  });

  it("produces the signature we produce", async () => {
    const secret = generateWebhookSecret();
    const headers = await signatureHeaders({ id: ID, timestamp: T, body: BODY, secrets: [secret] });
    expect(new Webhook(secret).sign(ID, new Date(T * 1000), BODY)).toBe(headers["webhook-signature"]);
  });
});
