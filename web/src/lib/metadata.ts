// Metadata as people edit it: one `key=value` per line.

/** The non-empty, trimmed lines of a text area. */
export const lines = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);

export const metadataText = (metadata: Record<string, string>) =>
  Object.entries(metadata)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");

/** `key=value` lines → an object; throws with the offending line otherwise. */
export function parseMetadata(text: string): Record<string, string> {
  const entries = lines(text).map((line) => {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`Metadata line "${line}" is not key=value`);
    return [line.slice(0, at).trim(), line.slice(at + 1).trim()] as const;
  });
  return Object.fromEntries(entries);
}
