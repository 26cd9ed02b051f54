import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";
import type { ApiError } from "../lib/api";
import type { Action } from "../lib/hooks";
import { ErrorMessage } from "./feedback";

const FOCUSABLE =
  "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

/**
 * A modal dialog on the native <dialog> element: showModal() makes the rest of the page inert,
 * Tab cycles inside it, Escape closes it, and focus returns to what opened it.
 */
export function Dialog({
  open,
  title,
  onClose,
  children,
  description,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  description?: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const id = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      const first = dialog.querySelector<HTMLElement>(
        "[autofocus], input:not([type=hidden]):not([disabled]), select, textarea, button:not(.dialog-close)",
      );
      first?.focus();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const onCancel = (event: Event) => {
      event.preventDefault();
      onClose();
    };
    // showModal() makes the page inert, but Tab past the last control would still leave for the
    // browser's own UI: wrap around inside the dialog instead.
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== "Tab") return;
      const focusable = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
        (node) => !node.closest("[hidden]"),
      );
      const first = focusable[0];
      const last = focusable.at(-1);
      if (!first || !last) return;
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    };
    const onClosed = () => {
      if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus();
    };
    dialog.addEventListener("cancel", onCancel);
    dialog.addEventListener("close", onClosed);
    dialog.addEventListener("keydown", onKeyDown);
    return () => {
      dialog.removeEventListener("keydown", onKeyDown);
      dialog.removeEventListener("cancel", onCancel);
      dialog.removeEventListener("close", onClosed);
    };
  }, [onClose]);

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={`${id}-title`}
      aria-describedby={description ? `${id}-desc` : undefined}
    >
      <header class="dialog-header">
        <h2 id={`${id}-title`}>{title}</h2>
        <button type="button" class="dialog-close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      {description ? (
        <p id={`${id}-desc`} class="dialog-description">
          {description}
        </p>
      ) : null}
      {open ? children : null}
    </dialog>
  );
}

/** A destructive or important action asks first; the API's error shows inside the dialog. */
export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel,
  danger = false,
  pending,
  error,
  onConfirm,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  pending: boolean;
  error: ApiError | null;
  onConfirm: () => void;
  onClose: () => void;
  children?: ComponentChildren;
}) {
  return (
    <Dialog open={open} title={title} onClose={onClose} description={message}>
      <form
        class="form"
        onSubmit={(event) => {
          event.preventDefault();
          onConfirm();
        }}
      >
        {children}
        <ErrorMessage error={error} />
        <div class="button-row">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            class={`button ${danger ? "button-danger" : "button-primary"}`}
            disabled={pending}
            aria-busy={pending}
          >
            {pending ? "Working…" : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * A ConfirmDialog that runs one action: its pending state and the API's error show inside,
 * closing forgets the error, and `onDone` gets the answer once the call has succeeded.
 */
export function ActionDialog<R>({
  action,
  onDone,
  onClose,
  ...dialog
}: Omit<Parameters<typeof ConfirmDialog>[0], "pending" | "error" | "onConfirm"> & {
  action: Action<[], R>;
  onDone: (answer: R) => void;
}) {
  return (
    <ConfirmDialog
      {...dialog}
      pending={action.pending}
      error={action.error}
      onClose={() => {
        action.reset();
        onClose();
      }}
      onConfirm={async () => {
        const answer = await action.run();
        if (answer !== undefined) onDone(answer);
      }}
    />
  );
}
