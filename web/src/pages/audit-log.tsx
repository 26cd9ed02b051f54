import { useState } from "preact/hooks";
import { ErrorMessage, Loading } from "../components/feedback";
import { TextField } from "../components/form";
import { Card, Page } from "../components/page";
import { type Column, LoadMore, Table } from "../components/table";
import { TENANTS } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { useApi, useDebounced, usePagedList } from "../lib/hooks";
import type { AuditEntry, User } from "../lib/types";

/** The actor by email when it is one of the tenant's users, else its type and id. */
const who = (entry: AuditEntry, emails: Map<string, string>) =>
  (entry.actor.id && emails.get(entry.actor.id)) ??
  (entry.actor.id ? `${entry.actor.type} ${entry.actor.id}` : entry.actor.type);
const what = (entry: AuditEntry) =>
  entry.target.type ? `${entry.target.type}${entry.target.id ? ` ${entry.target.id}` : ""}` : "—";

const columns = (emails: Map<string, string>): Column<AuditEntry>[] => [
  { label: "Time", render: (entry) => formatDateTime(entry.created_at) },
  { label: "Action", render: (entry) => <code>{entry.action}</code> },
  { label: "Actor", render: (entry) => <span class="break">{who(entry, emails)}</span> },
  { label: "Target", render: (entry) => <span class="break">{what(entry)}</span> },
  { label: "Reason", render: (entry) => entry.reason ?? "—" },
  {
    label: "Details",
    render: (entry) =>
      entry.metadata || entry.request_id ? (
        <details>
          <summary>Show</summary>
          {entry.request_id ? (
            <p>
              Request <code>{entry.request_id}</code>
            </p>
          ) : null}
          {entry.metadata ? (
            <pre class="code-block code-small">{JSON.stringify(entry.metadata, null, 2)}</pre>
          ) : null}
        </details>
      ) : (
        "—"
      ),
  },
];

/** Every recorded change of the tenant, newest first (owner only). */
export default function AuditLog() {
  const [action, setAction] = useState("");
  const prefix = useDebounced(action.trim());
  const list = usePagedList<AuditEntry>(`${TENANTS}/audit-log`, { action: prefix });
  const users = useApi<{ users: User[] }>(`${TENANTS}/users`);
  const emails = new Map((users.data?.users ?? []).map((user) => [user.id, user.email]));
  return (
    <Page title="Audit log" lead="Who changed what, and when: keys, users, Stripe, plans, webhooks, billing.">
      <Card>
        <search class="filters" aria-label="Filter the audit log">
          <TextField
            label="Action starts with"
            placeholder="api_keys"
            type="search"
            value={action}
            onValue={setAction}
          />
        </search>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <Table
            caption="Audit log"
            columns={columns(emails)}
            rows={list.data}
            rowKey={(entry) => entry.id}
            empty="No entries match."
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
    </Page>
  );
}
