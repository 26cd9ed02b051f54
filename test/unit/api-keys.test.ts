import type { SQLWrapper } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client";
import { knownKeyHash, rememberKnownKey } from "../../src/modules/api-keys/edge-store";
import {
  generateApiKey,
  keyState,
  maskSecretKey,
  modesOf,
  parseApiKey,
  seedKeyType,
} from "../../src/modules/api-keys/keys";
import { noteKeyUse } from "../../src/modules/api-keys/last-used";
import {
  chunkSize,
  completesChunk,
  countRequest,
  RATE_LIMIT_CHUNKS_PER_WINDOW,
  rateLimitStatus,
} from "../../src/modules/api-keys/rate-limit";

describe("API key format", () => {
  it.each([
    ["publishable", "live", /^pk_live_[0-9A-Za-z]{32}$/],
    ["secret", "live", /^sk_live_[0-9A-Za-z]{32}$/],
    ["publishable", "test", /^pk_test_[0-9A-Za-z]{32}$/],
    ["secret", "test", /^sk_test_[0-9A-Za-z]{32}$/],
  ] as const)("%s %s keys look like %s", (kind, mode, pattern) => {
    const key = generateApiKey(kind, mode);
    expect(key).toMatch(pattern);
    expect(parseApiKey(key)).toEqual({ kind, mode });
  });

  it("draws keys from a CSPRNG: no repeats, every base62 character used", () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey("secret", "live"));
    expect(new Set(keys).size).toBe(keys.length);
    const alphabet = new Set(keys.flatMap((key) => [...key.slice(8)]));
    expect(alphabet.size).toBe(62);
  });

  it.each([
    ["", "empty"],
    ["xk_live_abcdefghijklmnopqrstuvwxyz012345", "wrong prefix"],
    ["sk_prod_abcdefghijklmnopqrstuvwxyz012345", "wrong mode"],
    ["sk_live_abcdefghijklmnopqrstuvwxyz01234", "too short"],
    ["sk_live_abcdefghijklmnopqrstuvwxyz0123456", "too long"],
    ["sk_live_abcdefghijklmnopqrstuvwxyz01234!", "not base62"],
    [`sk_live_${"a".repeat(10_000)}`, "huge"],
  ])("refuses %s (%s)", (raw) => {
    expect(parseApiKey(raw)).toBeNull();
  });

  it("masks secret keys to their last 4 characters and names keys as the old platform did", () => {
    expect(maskSecretKey("live", "3456")).toBe("sk_live_****...3456");
    expect(seedKeyType("publishable", "test")).toBe("test_public");
    expect(seedKeyType("secret", "live")).toBe("live_secret");
    expect(modesOf("all")).toEqual(["live", "test"]);
  });
});

describe("key state", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("is active without an end, expiring before its end, expired after, revoked when revoked", () => {
    expect(keyState({ status: "active", expiresAt: null }, now)).toBe("active");
    expect(keyState({ status: "active", expiresAt: now.getTime() + 1 }, now)).toBe("expiring");
    expect(keyState({ status: "active", expiresAt: now.getTime() }, now)).toBe("expired");
    expect(keyState({ status: "revoked", expiresAt: null }, now)).toBe("revoked");
  });
});

describe("rate-limit window", () => {
  it("counts within an aligned window and starts over in the next", () => {
    const t0 = 1_800_000_000_000; // aligned to the minute
    const phases = [0.25, 0.75];
    const nextPhase = () => phases.shift() ?? 0;
    let window = countRequest(undefined, t0 + 1000, undefined, nextPhase);
    for (let i = 0; i < 59; i++) window = countRequest(window, t0 + 2000, undefined, nextPhase);
    expect(rateLimitStatus(window, 60, t0 + 2000)).toEqual({
      limit: 60,
      count: 60,
      remaining: 0,
      reset: 58,
      allowed: true,
      phase: 0.25,
    });
    window = countRequest(window, t0 + 3000, undefined, nextPhase);
    expect(rateLimitStatus(window, 60, t0 + 3000).allowed).toBe(false);
    // A new window draws a new phase; the requests of one window keep theirs.
    window = countRequest(window, t0 + 60_000, undefined, nextPhase);
    expect(window).toEqual({ start: t0 + 60_000, count: 1, phase: 0.75 });
    expect(rateLimitStatus(window, 60, t0 + 60_000)).toEqual({
      limit: 60,
      count: 1,
      remaining: 59,
      reset: 60,
      allowed: true,
      phase: 0.75,
    });
  });
});

describe("location-wide reporting", () => {
  it("reports to the binding once per chunk of limit/20 requests", () => {
    expect(chunkSize(60)).toBe(3);
    expect(chunkSize(600)).toBe(30);
    expect(chunkSize(6000)).toBe(300);
    expect(chunkSize(10)).toBe(1);
    expect(chunkSize(39)).toBe(2);
    expect(chunkSize(150)).toBe(8);
    const status = (count: number, limit: number, phase = 0) =>
      rateLimitStatus({ start: 0, count, phase }, limit, 0);
    expect([1, 2, 3].map((n) => completesChunk(status(n, 20, 0.9)))).toEqual([true, true, true]);
    expect([1, 2, 3, 4, 6].map((n) => completesChunk(status(n, 60)))).toEqual([
      false,
      false,
      true,
      false,
      true,
    ]);
    expect([1, 299, 300, 301, 600].map((n) => completesChunk(status(n, 6000)))).toEqual([
      false,
      false,
      true,
      false,
      true,
    ]);
    // Phase 0.3 of a chunk of 300: the first report after 210 requests, then every 300.
    expect([209, 210, 300, 510, 810].map((n) => completesChunk(status(n, 6000, 0.3)))).toEqual([
      false,
      true,
      false,
      true,
      true,
    ]);
  });

  it("reports at most the binding's 20 chunks for a key's whole limit in one isolate, whatever the limit and phase", () => {
    expect(RATE_LIMIT_CHUNKS_PER_WINDOW).toBe(20);
    const reportsFor = (limit: number, phase: number) => {
      let reports = 0;
      for (let count = 1; count <= limit; count++)
        if (completesChunk(rateLimitStatus({ start: 0, count, phase }, limit, 0))) reports++;
      return reports;
    };
    for (const limit of [60, 600, 6000])
      for (const phase of [0, 0.01, 0.5, 0.99]) expect(reportsFor(limit, phase)).toBe(20);
    // Limits of custom plans, multiples of 20 or not (floor-sized chunks ran out before them).
    for (const limit of [1, 7, 19, 21, 39, 41, 100, 150, 999, 1001, 6001])
      for (const phase of [0, 0.01, 0.5, 0.99]) {
        const reports = reportsFor(limit, phase);
        expect(reports, `limit ${limit}, phase ${phase}`).toBeLessThanOrEqual(20);
        expect(reports * chunkSize(limit), `limit ${limit}, phase ${phase}`).toBeGreaterThan(
          limit - chunkSize(limit),
        );
      }
  });

  it("spreads the reports of keys whose windows start together", () => {
    // 100 keys in lockstep (the same request count): with phases drawn at random, a given count
    // completes a chunk for about one key in 300, not for all of them at once.
    const keys = Array.from({ length: 100 }, () => countRequest(undefined, 0));
    const reporting = keys.filter((window) =>
      completesChunk(rateLimitStatus({ ...window, count: 300 }, 6000, 0)),
    ).length;
    expect(reporting).toBeLessThan(20);
  });
});

describe("last_used_at bookkeeping", () => {
  // A stand-in for drizzle: records the statements it is asked to run.
  const statements: { sql: string; params: unknown[] }[] = [];
  const db = {
    run: (query: SQLWrapper) => {
      const built = new SQLiteSyncDialect().sqlToQuery(query.getSQL());
      statements.push({ sql: built.sql, params: built.params });
      return Promise.resolve();
    },
  } as unknown as Database;

  it("writes noted keys together, at most every 5 s, and each key at most once a minute", () => {
    const t0 = 4_000_000_000_000;
    expect(noteKeyUse(db, "key_a", t0)).not.toBeNull();
    expect(statements.at(-1)?.params).toEqual([t0, JSON.stringify(["key_a"])]);
    expect(noteKeyUse(db, "key_b", t0 + 1000)).toBeNull();
    expect(noteKeyUse(db, "key_c", t0 + 2000)).toBeNull();
    expect(noteKeyUse(db, "key_a", t0 + 3000)).toBeNull();
    expect(noteKeyUse(db, "key_b", t0 + 5000)).not.toBeNull();
    expect(statements.at(-1)?.params).toEqual([t0 + 5000, JSON.stringify(["key_b", "key_c"])]);
    expect(statements.at(-1)?.sql).toMatch(/^update "api_keys" set last_used_at = \? where id in/i);
    // key_a was noted at t0: nothing to write again before a minute has passed.
    expect(noteKeyUse(db, "key_a", t0 + 11_000)).toBeNull();
    expect(noteKeyUse(db, "key_a", t0 + 61_000)).not.toBeNull();
    expect(statements).toHaveLength(3);
  });

  it("writes a backlog of more than 500 keys 500 at a time, oldest first, each once", () => {
    const t0 = 4_100_000_000_000;
    const ids = Array.from({ length: 1_201 }, (_, i) => `key_backlog_${i}`);
    // The first note flushes at once (the last flush was long ago), the other 1,200 wait.
    for (const [i, id] of ids.entries()) noteKeyUse(db, id, t0 + i);
    const noted = statements.length;
    expect(noteKeyUse(db, "key_backlog_0", t0 + 5_000)).not.toBeNull();
    expect(noteKeyUse(db, "key_backlog_0", t0 + 10_000)).not.toBeNull();
    expect(noteKeyUse(db, "key_backlog_0", t0 + 15_000)).not.toBeNull();
    expect(noteKeyUse(db, "key_backlog_0", t0 + 20_000)).toBeNull();
    const batches = statements.slice(noted).map(({ params }) => JSON.parse(String(params[1])) as string[]);
    expect(batches.map((batch) => batch.length)).toEqual([500, 500, 200]);
    expect(batches.flat()).toEqual(ids.slice(1));
  });
});

describe("the isolate's memo of key hashes", () => {
  it("holds at most 10,000 keys, the newest always among them, dropping the oldest tenth at a time", () => {
    const key = (i: number) => `sk_test_memo${String(i).padStart(28, "0")}`;
    for (let i = 0; i < 10_500; i++) rememberKnownKey(key(i), `hash_${i}`);
    // 10,500 insertions later, the first is gone whatever the memo held before; the newest 9,000 stay.
    expect(knownKeyHash(key(0))).toBeUndefined();
    for (let i = 1_500; i < 10_500; i++) expect(knownKeyHash(key(i))).toBe(`hash_${i}`);
  });
});
