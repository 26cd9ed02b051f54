/** The column list of a violated UNIQUE constraint ("users.email"), or null for other errors. */
export function uniqueViolation(error: unknown): string | null {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    const message = current instanceof Error ? current.message : String(current);
    const match = /UNIQUE constraint failed: ([\w.,\s]+)/.exec(message);
    if (match?.[1]) return match[1].trim();
  }
  return null;
}
