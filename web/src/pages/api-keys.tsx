import { useState } from "preact/hooks";
import { ActionDialog } from "../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../components/feedback";
import { SelectField, TextField } from "../components/form";
import { Card, Page } from "../components/page";
import { CopyButton, OnceWarning, SecretReveal } from "../components/secret";
import { type Column, Table } from "../components/table";
import { api, TENANTS } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useAction, useApi } from "../lib/hooks";
import { byKeyOrder, isSecretType, keyLabel } from "../lib/keys";
import { useCan } from "../lib/permissions";
import type { ApiKey } from "../lib/types";

type Scope = "test" | "live" | "all";
const SCOPES = [
  ["test", "Test keys"],
  ["live", "Live keys"],
  ["all", "All keys (test and live)"],
] as const;
const ROLLOVER = [
  ["", "Immediately (default)"],
  ["1h", "In 1 hour"],
  ["24h", "In 24 hours"],
  ["7d", "In 7 days"],
] as const;

interface Regenerated {
  message: string;
  keys: Record<string, string>;
  warning: string;
  old_keys_expire_at: string | null;
}

const columns: Column<ApiKey>[] = [
  { label: "Key", render: (key) => keyLabel(key.type) },
  {
    label: "Value",
    render: (key) => (
      <span class="key-value">
        <code>{key.key}</code>
        {key.masked ? <span class="visually-hidden"> (masked)</span> : <CopyButton value={key.key} />}
      </span>
    ),
  },
  { label: "Status", render: (key) => <Badge value={key.status} /> },
  { label: "Created", render: (key) => formatDateTime(key.created_at) },
  { label: "Last used", render: (key) => formatDateTime(key.last_used_at) },
  { label: "Expires", render: (key) => (key.expires_at ? formatDateTime(key.expires_at) : "Never") },
];

/** The four keys (secrets masked), regenerate with a rollover choice, revoke, each confirmed. */
export default function ApiKeys() {
  const list = useApi<{ keys: ApiKey[]; warning: string }>(`${TENANTS}/api-keys`);
  const can = useCan();
  const [dialog, setDialog] = useState<"regenerate" | "revoke" | null>(null);
  const [result, setResult] = useState<Regenerated | null>(null);
  const close = () => setDialog(null);

  const keys = [...(list.data?.keys ?? [])].sort((a, b) => byKeyOrder(a.type, b.type));
  return (
    <Page
      title="API keys"
      lead="Secret keys authenticate your servers; publishable keys only read your public plans."
      actions={
        can("keys.manage") ? (
          <>
            <button type="button" class="button button-primary" onClick={() => setDialog("regenerate")}>
              Regenerate keys
            </button>
            <button type="button" class="button button-danger" onClick={() => setDialog("revoke")}>
              Revoke keys
            </button>
          </>
        ) : null
      }
    >
      {result ? <NewKeys result={result} onDone={() => setResult(null)} /> : null}
      <Card>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <>
            <Table
              caption="API keys"
              columns={columns}
              rows={keys}
              rowKey={(key) => `${key.type}-${key.created_at}`}
              empty="No active keys: regenerate to get new ones."
            />
            <p class="hint">{list.data.warning}</p>
          </>
        ) : null}
      </Card>
      <RegenerateDialog
        open={dialog === "regenerate"}
        onClose={close}
        onDone={(answer) => {
          close();
          setResult(answer);
          announce(answer.message);
          list.reload();
        }}
      />
      <RevokeDialog
        open={dialog === "revoke"}
        onClose={close}
        onDone={(message) => {
          close();
          announce(message);
          list.reload();
        }}
      />
    </Page>
  );
}

function NewKeys({ result, onDone }: { result: Regenerated; onDone: () => void }) {
  const types = Object.keys(result.keys).sort(byKeyOrder);
  return (
    <Card title="Your new keys">
      <OnceWarning what="new secret keys" />
      {types.map((type) =>
        isSecretType(type) ? (
          <SecretReveal key={type} label={keyLabel(type)} value={result.keys[type] ?? ""} />
        ) : (
          <div class="secret" key={type}>
            <span class="secret-label">{keyLabel(type)}</span>
            <code class="secret-value">{result.keys[type]}</code>
            <CopyButton value={result.keys[type] ?? ""} />
          </div>
        ),
      )}
      <p>
        {result.old_keys_expire_at
          ? `The old keys keep working until ${formatDateTime(result.old_keys_expire_at)}.`
          : "The old keys stopped working."}
      </p>
      <button type="button" class="button" onClick={onDone}>
        I saved the new keys
      </button>
    </Card>
  );
}

function RegenerateDialog({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (answer: Regenerated) => void;
}) {
  const [scope, setScope] = useState<Scope>("test");
  const [rollover, setRollover] = useState<(typeof ROLLOVER)[number][0]>("");
  const action = useAction(() =>
    api<Regenerated>(`${TENANTS}/api-keys/regenerate`, {
      body: { key_type: scope, confirm: true, ...(rollover ? { expire_old_in: rollover } : {}) },
    }),
  );
  return (
    <ActionDialog
      open={open}
      title="Regenerate API keys"
      message="New keys are created and shown once. Choose how long the old keys keep working, so your servers can switch over."
      confirmLabel="Regenerate"
      action={action}
      onClose={onClose}
      onDone={onDone}
    >
      <SelectField label="Which keys" value={scope} onValue={setScope} options={SCOPES} />
      <SelectField label="Old keys stop working" value={rollover} onValue={setRollover} options={ROLLOVER} />
    </ActionDialog>
  );
}

function RevokeDialog({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [scope, setScope] = useState<Scope>("test");
  const [reason, setReason] = useState("");
  const action = useAction(() =>
    api<{ message: string; warning: string }>(`${TENANTS}/api-keys/revoke`, {
      body: { key_type: scope, reason: reason.trim(), confirm: true },
    }),
  );
  return (
    <ActionDialog
      open={open}
      title="Revoke API keys"
      message="Revoked keys stop working at once and cannot be restored; your servers using them will fail until you give them new keys."
      confirmLabel="Revoke keys"
      danger
      action={action}
      onClose={onClose}
      onDone={(answer) => onDone(answer.message)}
    >
      <SelectField label="Which keys" value={scope} onValue={setScope} options={SCOPES} />
      <TextField
        label="Reason (kept in the audit log)"
        required
        maxLength={500}
        value={reason}
        onValue={setReason}
        error={action.error?.field("reason")}
      />
    </ActionDialog>
  );
}
