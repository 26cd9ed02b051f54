import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useId } from "preact/hooks";
import type { ApiError } from "../lib/api";

interface FieldProps {
  label: string;
  hint?: ComponentChildren;
  /** The API's validation message for this field, when it named it. */
  error?: string | undefined;
  children: (props: {
    id: string;
    "aria-describedby"?: string;
    "aria-invalid"?: boolean;
  }) => ComponentChildren;
}

/** A labelled control with its hint and its error wired through aria-describedby. */
export function Field({ label, hint, error, children }: FieldProps) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${error ? " field-invalid" : ""}`}>
      <label for={id}>{label}</label>
      {children({
        id,
        ...(described ? { "aria-describedby": described } : {}),
        ...(error ? { "aria-invalid": true } : {}),
      })}
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

interface InputProps {
  type?: "text" | "email" | "password" | "url" | "search" | "number" | "date" | "datetime-local";
  required?: boolean;
  readOnly?: boolean;
  autoComplete?: string;
  placeholder?: string;
  maxLength?: number;
  min?: number;
  max?: number;
  inputMode?: "decimal" | "numeric" | "text";
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  error?: string | undefined;
}

export function TextField({ label, value, onValue, hint, error, ...rest }: InputProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(wiring) => {
        // Preact 11 types <input> per `type`; this field's type is a variable, so type it once here.
        const attributes = {
          ...rest,
          ...wiring,
          value,
          onInput: (event: Event) => onValue((event.currentTarget as HTMLInputElement).value),
        } as unknown as InputHTMLAttributes<HTMLInputElement>;
        return <input {...attributes} />;
      }}
    </Field>
  );
}

export function TextArea({
  label,
  value,
  onValue,
  hint,
  error,
  rows = 4,
}: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  error?: string | undefined;
  rows?: number;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(wiring) => (
        <textarea
          {...wiring}
          rows={rows}
          value={value}
          onInput={(event) => onValue((event.currentTarget as HTMLTextAreaElement).value)}
        />
      )}
    </Field>
  );
}

export function SelectField<T extends string>({
  label,
  value,
  onValue,
  options,
  hint,
  error,
}: {
  label: string;
  value: T;
  onValue: (value: T) => void;
  options: readonly (readonly [T, string])[];
  hint?: ComponentChildren;
  error?: string | undefined;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(wiring) => (
        <select
          {...wiring}
          value={value}
          onChange={(event) => onValue((event.currentTarget as HTMLSelectElement).value as T)}
        >
          {options.map(([option, text]) => (
            <option key={option} value={option}>
              {text}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox({
  label,
  checked,
  onChecked,
  hint,
}: {
  label: ComponentChildren;
  checked: boolean;
  onChecked: (checked: boolean) => void;
  hint?: string;
}) {
  const id = useId();
  return (
    <div class="checkbox">
      <input
        type="checkbox"
        id={id}
        checked={checked}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(event) => onChecked((event.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{label}</label>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A form that never reloads the page; `onSubmit` runs the change. */
export function Form({
  onSubmit,
  children,
  label,
}: {
  onSubmit: () => void;
  children: ComponentChildren;
  label?: string;
}) {
  return (
    <form
      class="form"
      aria-label={label}
      noValidate={false}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

export function SubmitButton({
  pending,
  children,
  kind = "primary",
}: {
  pending: boolean;
  children: ComponentChildren;
  kind?: "primary" | "danger";
}) {
  return (
    <button type="submit" class={`button button-${kind}`} disabled={pending} aria-busy={pending}>
      {pending ? "Working…" : children}
    </button>
  );
}

/** The message the API gave for `field`, for a Field's `error`. */
export const fieldError = (error: ApiError | null, field: string) => error?.field(field);
