import { describe, expect, it } from "vitest";
import {
  checkWebhookUrl,
  isBlockedHostName,
  isBlockedIp,
  WEBHOOK_URL_REASONS,
} from "../../src/lib/url-safety";

const strict = { allowInsecureLocalhost: false };
const insecure = { allowInsecureLocalhost: true };

describe("checkWebhookUrl refuses", () => {
  it.each([
    // scheme
    ["http://example.com/hook", WEBHOOK_URL_REASONS.https],
    ["ftp://example.com/", WEBHOOK_URL_REASONS.https],
    ["file:///etc/passwd", WEBHOOK_URL_REASONS.https],
    ["gopher://example.com/", WEBHOOK_URL_REASONS.https],
    ["data:text/plain,hello", WEBHOOK_URL_REASONS.https],
    ["javascript:alert(1)", WEBHOOK_URL_REASONS.https],
    ["ws://example.com/", WEBHOOK_URL_REASONS.https],
    // not a URL, too long, bad port
    ["not a url", WEBHOOK_URL_REASONS.invalid],
    ["", WEBHOOK_URL_REASONS.invalid],
    ["https://", WEBHOOK_URL_REASONS.invalid],
    ["https://[fe80::1%25eth0]/", WEBHOOK_URL_REASONS.invalid],
    ["https://example.com:65536/", WEBHOOK_URL_REASONS.invalid],
    ["https://example.com:0/", WEBHOOK_URL_REASONS.port],
    [`https://example.com/${"a".repeat(2048)}`, WEBHOOK_URL_REASONS.tooLong],
    // credentials
    ["https://user:pass@example.com/", WEBHOOK_URL_REASONS.credentials],
    ["https://user@example.com/", WEBHOOK_URL_REASONS.credentials],
    ["https://:pass@example.com/", WEBHOOK_URL_REASONS.credentials],
    // IPv4, including the spellings the URL parser normalizes to 127.0.0.1
    ["https://10.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://169.254.169.254/latest/meta-data", WEBHOOK_URL_REASONS.blockedIp],
    ["https://100.64.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://100.127.255.255/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://127.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://127.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://0x7f.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://0x7f000001/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://2130706433/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://0177.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://%31%32%37.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://127.0.0.1./", WEBHOOK_URL_REASONS.blockedIp],
    ["https://0.0.0.0/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://0/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://192.168.1.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://172.16.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://172.31.255.255/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://192.0.0.8/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://192.0.2.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://192.88.99.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://198.18.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://198.19.255.255/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://198.51.100.7/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://203.0.113.9/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://224.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://240.0.0.1/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://255.255.255.255/", WEBHOOK_URL_REASONS.blockedIp],
    // IPv6
    ["https://[::]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[0:0:0:0:0:0:0:1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::ffff:127.0.0.1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::ffff:7f00:1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::ffff:169.254.169.254]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::ffff:8.8.8.8]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[::127.0.0.1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[64:ff9b::a00:1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[64:ff9b::808:808]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[100::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[2001::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[2001:db8::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[2002:7f00:1::]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[3fff::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[fe80::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[fe80::1]:8443/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[fec0::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[fc00::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[fd12:3456::1]/", WEBHOOK_URL_REASONS.blockedIp],
    ["https://[ff02::1]/", WEBHOOK_URL_REASONS.blockedIp],
    // names
    ["https://localhost/", WEBHOOK_URL_REASONS.blockedName],
    ["https://LOCALHOST./", WEBHOOK_URL_REASONS.blockedName],
    ["https://localhost../", WEBHOOK_URL_REASONS.blockedName],
    ["https://ｌｏｃａｌｈｏｓｔ/", WEBHOOK_URL_REASONS.blockedName],
    ["https://api.localhost/", WEBHOOK_URL_REASONS.blockedName],
    ["https://foo.internal/", WEBHOOK_URL_REASONS.blockedName],
    ["https://metadata.google.internal/computeMetadata/v1/", WEBHOOK_URL_REASONS.blockedName],
    ["https://printer.local/", WEBHOOK_URL_REASONS.blockedName],
    ["https://host.localdomain/", WEBHOOK_URL_REASONS.blockedName],
    ["https://nas.home.arpa/", WEBHOOK_URL_REASONS.blockedName],
    ["https://1.0.0.127.in-addr.arpa/", WEBHOOK_URL_REASONS.blockedName],
    ["https://abcdefghijklmnop.onion/", WEBHOOK_URL_REASONS.blockedName],
    ["https://shop.test/", WEBHOOK_URL_REASONS.blockedName],
    ["https://shop.example/", WEBHOOK_URL_REASONS.blockedName],
    ["https://shop.invalid/", WEBHOOK_URL_REASONS.blockedName],
    ["https://intranet/", WEBHOOK_URL_REASONS.blockedName],
    ["https://intranet./", WEBHOOK_URL_REASONS.blockedName],
    ["https://a..example.com/", WEBHOOK_URL_REASONS.blockedName],
  ])("%s", (raw, reason) => {
    expect(checkWebhookUrl(raw, strict)).toEqual({ ok: false, reason });
  });
});

describe("checkWebhookUrl accepts", () => {
  it.each([
    ["https://example.com/webhooks/billing", "https://example.com/webhooks/billing"],
    ["https://api.mysaas.com:8443/hooks?x=1", "https://api.mysaas.com:8443/hooks?x=1"],
    ["HTTPS://Hooks.Example.COM./in", "https://hooks.example.com./in"],
    ["https://172.32.0.1/", "https://172.32.0.1/"],
    ["https://172.15.255.255/", "https://172.15.255.255/"],
    ["https://100.128.0.1/", "https://100.128.0.1/"],
    ["https://8.8.8.8/", "https://8.8.8.8/"],
    ["https://[2606:4700::1111]/", "https://[2606:4700::1111]/"],
    ["https://[2a00:1450:4001:82a::200e]:443/x", "https://[2a00:1450:4001:82a::200e]/x"],
    ["https://xn--bcher-kva.example.com/", "https://xn--bcher-kva.example.com/"],
    ["https://bücher.de/hook", "https://xn--bcher-kva.de/hook"],
    ["https://example.com:1/", "https://example.com:1/"],
    ["https://example.com:65535/", "https://example.com:65535/"],
  ])("%s", (raw, href) => {
    const result = checkWebhookUrl(raw, strict);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.url.href).toBe(href);
  });

  it("accepts a URL of exactly 2048 characters", () => {
    const base = "https://example.com/";
    expect(checkWebhookUrl(base + "a".repeat(2048 - base.length), strict).ok).toBe(true);
  });
});

describe("the insecure-localhost development setting", () => {
  it.each([
    ["http://localhost:3000/hook", true, true],
    ["http://127.0.0.1:9999/x", true, true],
    ["http://localhost/", true, true],
    ["https://localhost:8443/", true, true],
    ["http://127.1:8080/", true, true],
    ["http://localhost:3000/hook", false, false],
    ["http://127.0.0.1:9999/x", false, false],
    ["http://10.0.0.1/", true, false],
    ["https://10.0.0.1/", true, false],
    ["http://example.com/", true, false],
    ["http://[::1]:3000/", true, false],
    ["http://api.localhost:3000/", true, false],
    ["http://localhost.:3000/", true, false],
    ["http://user:pass@localhost:3000/", true, false],
    ["ftp://localhost/", true, false],
  ])("%s with the setting %s: accepted %s", (raw, allowInsecureLocalhost, accepted) => {
    expect(checkWebhookUrl(raw, { allowInsecureLocalhost }).ok).toBe(accepted);
  });

  it("still refuses other addresses under the setting", () => {
    expect(checkWebhookUrl("http://10.0.0.1/", insecure)).toEqual({
      ok: false,
      reason: WEBHOOK_URL_REASONS.https,
    });
    expect(checkWebhookUrl("https://192.168.0.10/", insecure)).toEqual({
      ok: false,
      reason: WEBHOOK_URL_REASONS.blockedIp,
    });
  });
});

describe("isBlockedIp", () => {
  it.each([
    ["0.0.0.0", true],
    ["0.255.255.255", true],
    ["1.0.0.0", false],
    ["9.255.255.255", false],
    ["10.0.0.0", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["100.63.255.255", false],
    ["100.64.0.0", true],
    ["100.127.255.255", true],
    ["100.128.0.0", false],
    ["126.255.255.255", false],
    ["127.0.0.1", true],
    ["127.255.255.255", true],
    ["128.0.0.0", false],
    ["169.253.255.255", false],
    ["169.254.0.0", true],
    ["169.254.169.254", true],
    ["169.255.0.0", false],
    ["172.15.255.255", false],
    ["172.16.0.0", true],
    ["172.31.255.255", true],
    ["172.32.0.0", false],
    ["192.0.0.255", true],
    ["192.0.1.0", false],
    ["192.0.2.0", true],
    ["192.0.3.0", false],
    ["192.88.99.0", true],
    ["192.88.100.0", false],
    ["192.167.255.255", false],
    ["192.168.0.0", true],
    ["192.168.255.255", true],
    ["192.169.0.0", false],
    ["198.17.255.255", false],
    ["198.18.0.0", true],
    ["198.19.255.255", true],
    ["198.20.0.0", false],
    ["198.51.100.0", true],
    ["198.51.101.0", false],
    ["203.0.113.255", true],
    ["203.0.114.0", false],
    ["223.255.255.255", false],
    ["224.0.0.0", true],
    ["239.255.255.255", true],
    ["240.0.0.0", true],
    ["255.255.255.255", true],
    ["8.8.8.8", false],
    ["1.1.1.1", false],
    ["::", true],
    ["::1", true],
    ["[::1]", true],
    ["::ffff:0.0.0.0", true],
    ["::ffff:8.8.8.8", true],
    ["0:0:0:0:0:ffff:7f00:1", true],
    ["::ffff:0:7f00:1", true],
    ["64:ff9b::a00:1", true],
    ["64:ff9b:1::1", true],
    ["100::1", true],
    ["1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["2000::1", false],
    ["2001::1", true],
    ["2001:1ff:ffff::1", true],
    ["2001:200::1", false],
    ["2001:db8::1", true],
    ["2001:db8:ffff::1", true],
    ["2001:db9::1", false],
    ["2002::1", true],
    ["2002:ffff::1", true],
    ["2003::1", false],
    ["2606:4700:4700::1111", false],
    ["2a00:1450:4001:82a::200e", false],
    ["3ffe::1", false],
    ["3fff::1", true],
    ["3fff:0fff::1", true],
    ["3fff:1000::1", false],
    ["4000::1", true],
    ["5f00::1", true],
    ["fc00::1", true],
    ["fdff:ffff::1", true],
    ["fe80::1", true],
    ["febf::1", true],
    ["fec0::1", true],
    ["ff02::1", true],
    // Not strict literals: fail closed.
    ["127.1", true],
    ["0x7f.0.0.1", true],
    ["08.8.8.8", true],
    ["256.0.0.1", true],
    ["1.2.3.4.5", true],
    ["fe80::1%eth0", true],
    ["1::2::3", true],
    ["1:2:3:4:5:6:7:8:9", true],
    ["1:2:3:4:5:6:7::8", true],
    ["12345::1", true],
    ["example.com", true],
    ["", true],
  ])("%s → %s", (address, blocked) => {
    expect(isBlockedIp(address)).toBe(blocked);
  });

  it("reads the IPv6 forms that a strict parser must accept", () => {
    expect(isBlockedIp("2606:4700:0:0:0:0:0:1111")).toBe(false);
    expect(isBlockedIp("2606:4700::0.0.17.17")).toBe(false);
    expect(isBlockedIp("2606:4700:4700:0:0:0:0:1111")).toBe(false);
    expect(isBlockedIp("2606:4700:4700:0:0:0::1111")).toBe(false);
  });
});

describe("isBlockedHostName", () => {
  it.each([
    ["example.com", false],
    ["localhost.example.com", false],
    ["internal.example.com", false],
    ["my-test.example.com", false],
    ["example.com.", false],
    ["localhost", true],
    ["internal", true],
    ["foo.lan", true],
    ["foo.corp", true],
    [".example.com", true],
    ["", true],
  ])("%s → %s", (name, blocked) => {
    expect(isBlockedHostName(name)).toBe(blocked);
  });
});
