import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ApiError } from "../lib/api";

/** Polite announcements for screen readers (saved, copied, sent...), in one live region. */
let announceListener: ((message: string) => void) | null = null;
export const announce = (message: string) => announceListener?.(message);

export function LiveRegion() {
  const [message, setMessage] = useState("");
  useEffect(() => {
    let hide: ReturnType<typeof setTimeout> | undefined;
    announceListener = (text) => {
      // Clearing first makes the same message announced twice in a row; the toast then fades.
      setMessage("");
      clearTimeout(hide);
      setTimeout(() => setMessage(text), 50);
      hide = setTimeout(() => setMessage(""), 6000);
    };
    return () => {
      clearTimeout(hide);
      announceListener = null;
    };
  }, []);
  return (
    <div
      class="toast"
      role="status"
      aria-live="polite"
      aria-atomic="true"
      data-empty={message ? undefined : ""}
    >
      {message}
    </div>
  );
}

/** The API's message for a failed call (role="alert": read out as soon as it appears). */
export function ErrorMessage({ error, title }: { error: ApiError | null | undefined; title?: string }) {
  if (!error) return null;
  return (
    <div class="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {error.message}
      {error.requestId ? <small class="request-id"> (request {error.requestId})</small> : null}
    </div>
  );
}

export function Notice({
  kind = "info",
  children,
}: {
  kind?: "info" | "success" | "warning";
  children: ComponentChildren;
}) {
  return (
    <div class={`alert alert-${kind}`} role={kind === "warning" ? "note" : "status"}>
      {children}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

const BADGE_KINDS: Record<string, string> = {
  active: "ok",
  enabled: "ok",
  delivered: "ok",
  succeeded: "ok",
  success: "ok",
  paid: "ok",
  trialing: "ok",
  expiring: "warn",
  pending: "warn",
  open: "warn",
  requires_action: "warn",
  past_due: "warn",
  onboarding: "warn",
  pending_verification: "warn",
  restricted: "warn",
  skipped: "muted",
  inactive: "muted",
  none: "muted",
  not_connected: "muted",
  suspended: "bad",
  failed: "bad",
  uncollectible: "bad",
  disabled: "bad",
  cancelled: "bad",
  canceled: "bad",
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return (
    <span class={`badge badge-${BADGE_KINDS[value] ?? "muted"}`}>{label ?? value.replaceAll("_", " ")}</span>
  );
}
