/** `live_secret` → "Live secret key"; the four key types the API names. */
export function keyLabel(type: string): string {
  const [mode, kind] = type.split("_");
  const modeText = mode === "live" ? "Live" : mode === "test" ? "Test" : (mode ?? "");
  const kindText = kind === "public" ? "publishable" : (kind ?? "");
  return `${modeText} ${kindText} key`.trim();
}

export const isSecretType = (type: string) => type.endsWith("_secret");

/** Test keys first, publishable before secret: the order people reach for them. */
export const KEY_ORDER = ["test_public", "test_secret", "live_public", "live_secret"];
export const byKeyOrder = (a: string, b: string) => KEY_ORDER.indexOf(a) - KEY_ORDER.indexOf(b);
