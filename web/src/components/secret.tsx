import { useState } from "preact/hooks";
import { announce } from "./feedback";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Copies `value`; says so to screen readers and on the button. */
export function CopyButton({ value, label = "Copy" }: { value: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <button
      type="button"
      class="button button-small"
      aria-label={`${label}: ${value.length > 24 ? `${value.slice(0, 12)}…` : value}`}
      onClick={async () => {
        const ok = await copyText(value);
        setState(ok ? "copied" : "failed");
        announce(ok ? "Copied to the clipboard" : "Copy failed: select the text and copy it yourself");
        setTimeout(() => setState("idle"), 2000);
      }}
    >
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}
    </button>
  );
}

/** A secret shown in full this once: selectable, with a copy button and the warning. */
export function SecretReveal({ label, value }: { label: string; value: string }) {
  return (
    <div class="secret">
      <span class="secret-label">{label}</span>
      <code class="secret-value" data-secret>
        {value}
      </code>
      <CopyButton value={value} />
    </div>
  );
}

export function OnceWarning({ what = "secret" }: { what?: string }) {
  return (
    <p class="alert alert-warning" role="note">
      <strong>Copy it now.</strong> This is the only time the {what} is shown in full; it is stored only as a
      hash. If you lose it, regenerate it.
    </p>
  );
}
