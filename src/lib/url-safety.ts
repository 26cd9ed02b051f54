/**
 * SSRF rules for tenant webhook URLs, applied when an endpoint is saved and again before every delivery
 * (the rules may have tightened, or the insecure-localhost setting changed, since the URL was saved).
 *
 * The URL is parsed with WHATWG `URL`, the same parser `fetch` uses, so every spelling of a host that
 * `fetch` would reach (`0x7f.1`, `2130706433`, `127.1`, `[::ffff:127.0.0.1]`, full-width letters,
 * percent-escapes) is checked in its normalized form. Deliver to the returned `url.href`, not the raw
 * string.
 *
 * Known limit: a public-looking DNS name that resolves to a private address (`127.0.0.1.nip.io`, DNS
 * rebinding) cannot be caught here, because a Worker has no DNS API. In production Cloudflare's own
 * `fetch` refuses private and internal destinations, which closes that gap.
 */

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export interface WebhookUrlOptions {
  /** `WEBHOOK_ALLOW_INSECURE_URLS`: local development only, lets `localhost` and `127.0.0.1` through. */
  allowInsecureLocalhost: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export const WEBHOOK_URL_REASONS = {
  tooLong: `Webhook URLs must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
  invalid: "Webhook URL is not a valid URL",
  https: "Webhook URLs must use https",
  credentials: "Webhook URLs must not contain credentials",
  noHost: "Webhook URLs must have a host",
  port: "Webhook URLs must use a port between 1 and 65535",
  blockedIp: "Webhook URLs must not point to private, loopback, link-local or reserved addresses",
  blockedName: "Webhook URLs must use a public host name, not localhost or an internal or reserved name",
} as const;

/** The only hosts the insecure development setting lets through, in the parser's normalized form. */
const INSECURE_LOCAL_HOSTS = new Set(["localhost", "127.0.0.1"]);

/**
 * Names that never belong to a public webhook receiver: special-use names (RFC 6761, 6762, 7686, 8375),
 * `.internal` (ICANN 2024) and the private TLDs of RFC 6762 appendix G, which split-horizon DNS may
 * answer with internal addresses. Each entry blocks the name itself and every name under it.
 */
const BLOCKED_NAME_SUFFIXES = [
  "localhost",
  "localdomain",
  "local",
  "internal",
  "arpa",
  "onion",
  "test",
  "example",
  "invalid",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
];

/** Checks a tenant's webhook URL; on refusal `reason` is a sentence fit for a 400 response. */
export function checkWebhookUrl(raw: string, options: WebhookUrlOptions): WebhookUrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return refuse("tooLong");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("invalid");
  }
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) return refuse("tooLong");
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("https");
  if (url.username !== "" || url.password !== "") return refuse("credentials");
  if (url.hostname === "") return refuse("noHost");
  // The parser rejects ports above 65535; port 0 parses but cannot be connected to.
  if (url.port !== "" && Number(url.port) === 0) return refuse("port");

  if (options.allowInsecureLocalhost && INSECURE_LOCAL_HOSTS.has(url.hostname)) return { ok: true, url };
  if (url.protocol !== "https:") return refuse("https");

  const host = url.hostname;
  // After parsing, an IPv4 host in any spelling is a canonical dotted quad and IPv6 is bracketed.
  if (host.startsWith("[") || parseIpv4(host) !== null) {
    return isBlockedIp(host) ? refuse("blockedIp") : { ok: true, url };
  }
  return isBlockedHostName(host) ? refuse("blockedName") : { ok: true, url };
}

function refuse(key: keyof typeof WEBHOOK_URL_REASONS): WebhookUrlCheck {
  return { ok: false, reason: WEBHOOK_URL_REASONS[key] };
}

/**
 * Whether a DNS name (already lower-cased, as `URL` leaves it) is local or reserved. Single-label
 * names are refused because resolvers complete them with internal search domains.
 */
export function isBlockedHostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  const labels = name.split(".");
  if (labels.length < 2 || labels.some((label) => label === "")) return true;
  return BLOCKED_NAME_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/**
 * Whether an IP literal (dotted-quad IPv4, or IPv6 with or without brackets) is outside the public
 * unicast space. Fails closed: anything that is not a strict literal (`127.1`, `0x7f.0.0.1`, zone ids)
 * counts as blocked, since callers only reach here with a host they meant as an address.
 */
export function isBlockedIp(address: string): boolean {
  const v4 = parseIpv4(address);
  if (v4 !== null) return isBlockedIpv4(v4);
  const v6 = parseIpv6(address);
  if (v6 !== null) return isBlockedIpv6(v6);
  return true;
}

/** IANA IPv4 special-purpose registry: every block that is not globally reachable unicast. */
const BLOCKED_V4: ReadonlyArray<readonly [number, number]> = [
  cidr4("0.0.0.0", 8), // "this network"
  cidr4("10.0.0.0", 8), // private
  cidr4("100.64.0.0", 10), // CGNAT shared address space
  cidr4("127.0.0.0", 8), // loopback
  cidr4("169.254.0.0", 16), // link-local, incl. cloud metadata 169.254.169.254
  cidr4("172.16.0.0", 12), // private
  cidr4("192.0.0.0", 24), // IETF protocol assignments
  cidr4("192.0.2.0", 24), // TEST-NET-1
  cidr4("192.88.99.0", 24), // 6to4 relay anycast (deprecated)
  cidr4("192.168.0.0", 16), // private
  cidr4("198.18.0.0", 15), // benchmarking
  cidr4("198.51.100.0", 24), // TEST-NET-2
  cidr4("203.0.113.0", 24), // TEST-NET-3
  cidr4("224.0.0.0", 4), // multicast
  cidr4("240.0.0.0", 4), // reserved, incl. broadcast 255.255.255.255
];

/**
 * Special-purpose blocks inside 2000::/3. Everything outside 2000::/3, the only block IANA allocates
 * for global unicast, is refused before this list is consulted: that covers ::, ::1, IPv4-mapped
 * (::ffff:0:0/96) and IPv4-compatible forms, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard
 * (100::/64), ULA (fc00::/7), link-local (fe80::/10), site-local (fec0::/10) and multicast (ff00::/8).
 * Translated forms are refused outright rather than by their embedded IPv4: a tenant can write a
 * public IPv4 address directly.
 */
const GLOBAL_UNICAST_V6 = cidr6("2000::", 3);
const BLOCKED_V6: ReadonlyArray<readonly [bigint, number]> = [
  cidr6("2001::", 23), // IETF protocol assignments, incl. Teredo 2001::/32
  cidr6("2001:db8::", 32), // documentation
  cidr6("2002::", 16), // 6to4
  cidr6("3fff::", 20), // documentation
];

function isBlockedIpv4(address: number): boolean {
  return BLOCKED_V4.some(([base, bits]) => inPrefix4(address, base, bits));
}

function isBlockedIpv6(address: bigint): boolean {
  if (!inPrefix6(address, GLOBAL_UNICAST_V6[0], GLOBAL_UNICAST_V6[1])) return true;
  return BLOCKED_V6.some(([base, bits]) => inPrefix6(address, base, bits));
}

function inPrefix4(address: number, base: number, bits: number): boolean {
  const shift = 32 - bits;
  return address >>> shift === base >>> shift;
}

function inPrefix6(address: bigint, base: bigint, bits: number): boolean {
  const shift = BigInt(128 - bits);
  return address >> shift === base >> shift;
}

function cidr4(base: string, bits: number): readonly [number, number] {
  const parsed = parseIpv4(base);
  if (parsed === null) throw new Error(`bad IPv4 prefix ${base}`);
  return [parsed, bits];
}

function cidr6(base: string, bits: number): readonly [bigint, number] {
  const parsed = parseIpv6(base);
  if (parsed === null) throw new Error(`bad IPv6 prefix ${base}`);
  return [parsed, bits];
}

/** Strict dotted-decimal IPv4 (no leading zeros, which some stacks read as octal) as an unsigned int. */
function parseIpv4(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** IPv6 text (RFC 4291, optional brackets, optional trailing dotted quad) as a 128-bit integer. */
function parseIpv6(address: string): bigint | null {
  const text = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (text === "" || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? "", halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "", true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

/** Colon-separated hex groups; a dotted quad is allowed only as the last part of the address. */
function parseGroups(part: string, mayEndWithIpv4: boolean): number[] | null {
  if (part === "") return [];
  const pieces = part.split(":");
  const groups: number[] = [];
  for (const [index, piece] of pieces.entries()) {
    if (piece.includes(".")) {
      const v4 = mayEndWithIpv4 && index === pieces.length - 1 ? parseIpv4(piece) : null;
      if (v4 === null) return null;
      groups.push(Math.floor(v4 / 65_536), v4 % 65_536);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
      groups.push(Number.parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return groups;
}
