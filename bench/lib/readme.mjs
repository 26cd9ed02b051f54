// Writes the benchmark's Markdown block into README.md between its markers, leaving the rest alone.
import { readFileSync, writeFileSync } from "node:fs";

export const START_MARKER = "<!-- bench:start -->";
export const END_MARKER = "<!-- bench:end -->";

/**
 * Replaces what lies between the bench markers of `readmePath` with `block`. Throws when the
 * markers are missing or out of order, rather than appending somewhere a reader would not look.
 * Returns whether the file changed.
 */
export function updateReadme(readmePath, block) {
  const text = readFileSync(readmePath, "utf8");
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`${readmePath}: no ${START_MARKER} … ${END_MARKER} block to replace`);
  }
  const next = `${text.slice(0, start + START_MARKER.length)}\n${block.trim()}\n${text.slice(end)}`;
  if (next === text) return false;
  writeFileSync(readmePath, next);
  return true;
}
