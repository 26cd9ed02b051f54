import { useState } from "preact/hooks";
import { TENANT_EVENT_TYPES } from "../../../../src/modules/webhooks/event-types";
import { ActionDialog } from "../../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { api, TENANTS } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useAction, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import type { Delivery, DeliveryStatus } from "../../lib/types";
import { BASE } from "../../routes";

export const DELIVERIES = `${TENANTS}/webhooks/deliveries`;

const STATUS_OPTIONS = [
  ["", "All"],
  ["delivered", "Delivered"],
  ["pending", "Pending"],
  ["failed", "Failed"],
  ["skipped", "Skipped"],
] as const;

/** `datetime-local` input value → ISO UTC, or "" when empty or invalid. */
const toIso = (local: string) => {
  const date = new Date(local);
  return local && !Number.isNaN(date.getTime()) ? date.toISOString() : "";
};

/** Every event sent to the tenant, newest first: filters, resend one, recover failed ones. */
export default function Deliveries() {
  const can = useCan();
  const [status, setStatus] = useState<"" | DeliveryStatus>("");
  const [eventType, setEventType] = useState("");
  const [since, setSince] = useState("");
  const list = usePagedList<Delivery>(DELIVERIES, { status, event_type: eventType, since: toIso(since) });
  const [recovering, setRecovering] = useState(false);
  const resend = useAction((id: string) =>
    api<{ message: string }>(`${DELIVERIES}/${id}/resend`, { method: "POST" }),
  );
  const manage = can("webhooks.manage");

  const columns: Column<Delivery>[] = [
    {
      label: "Event",
      render: (row) => <a href={`${BASE}/webhooks/deliveries/${row.event_id}`}>{row.type}</a>,
    },
    { label: "Status", render: (row) => <Badge value={row.status} /> },
    { label: "Attempts", render: (row) => String(row.attempts) },
    { label: "Created", render: (row) => formatDateTime(row.created_at) },
    { label: "Last attempt", render: (row) => formatDateTime(row.last_attempt_at) },
    { label: "Next attempt", render: (row) => formatDateTime(row.next_attempt_at) },
    { label: "Last error", render: (row) => row.last_error ?? "—" },
  ];
  if (manage) {
    columns.push({
      label: "Actions",
      hiddenLabel: true,
      render: (row) =>
        row.status === "pending" ? null : (
          <button
            type="button"
            class="button button-small"
            aria-label={`Resend ${row.type} ${row.event_id}`}
            disabled={resend.pending}
            onClick={async () => {
              const answer = await resend.run(row.event_id);
              if (answer) {
                announce(answer.message);
                list.reload();
              }
            }}
          >
            Resend
          </button>
        ),
    });
  }

  return (
    <Page
      title="Webhook deliveries"
      lead={<a href={`${BASE}/webhooks`}>Endpoint settings and test send</a>}
      actions={
        <>
          <button type="button" class="button" onClick={list.reload} disabled={list.loading}>
            Refresh
          </button>
          {manage ? (
            <button type="button" class="button" onClick={() => setRecovering(true)}>
              Recover failed events
            </button>
          ) : null}
        </>
      }
    >
      <Card>
        <search class="filters" aria-label="Filter deliveries">
          <SelectField label="Status" value={status} onValue={setStatus} options={STATUS_OPTIONS} />
          <SelectField
            label="Event type"
            value={eventType}
            onValue={setEventType}
            options={[["", "All"], ...TENANT_EVENT_TYPES.map((type) => [type, type] as const)]}
          />
          <TextField label="Created since" type="datetime-local" value={since} onValue={setSince} />
        </search>
        <ErrorMessage error={list.error ?? resend.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <Table
            caption="Webhook deliveries"
            columns={columns}
            rows={list.data}
            rowKey={(row) => row.event_id}
            empty="No events match."
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
      <RecoverDialog
        open={recovering}
        onClose={() => setRecovering(false)}
        onDone={(message) => {
          setRecovering(false);
          announce(message);
          list.reload();
        }}
      />
    </Page>
  );
}

function RecoverDialog({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const dayAgo = new Date(Date.now() - 86_400_000 - new Date().getTimezoneOffset() * 60_000)
    .toISOString()
    .slice(0, 16);
  const [since, setSince] = useState(dayAgo);
  const action = useAction(() => {
    const iso = toIso(since);
    if (!iso) throw new Error("Choose a date and time");
    return api<{ message: string; requeued: number }>(`${TENANTS}/webhooks/recover`, {
      body: { since: iso },
    });
  });
  return (
    <ActionDialog
      open={open}
      title="Recover failed events"
      message="Every failed event created since this time is sent again (test sends excepted), with the same event ids (receivers dedupe on them)."
      confirmLabel="Recover"
      action={action}
      onClose={onClose}
      onDone={(answer) => onDone(`${answer.message} (${answer.requeued} events)`)}
    >
      <TextField
        label="Failed since"
        type="datetime-local"
        required
        value={since}
        onValue={setSince}
        error={action.error?.field("since")}
      />
    </ActionDialog>
  );
}
