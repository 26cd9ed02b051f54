import { useRoute } from "preact-iso/router";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { Card, Facts, Page } from "../../components/page";
import { type Column, Table } from "../../components/table";
import { api, segment } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useAction, useApi } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import type { DeliveryAttempt, DeliveryDetail } from "../../lib/types";
import { BASE } from "../../routes";
import { DELIVERIES } from "./deliveries";

const attemptColumns: Column<DeliveryAttempt>[] = [
  { label: "Attempt", render: (row) => `#${row.attempt}` },
  { label: "Time", render: (row) => formatDateTime(row.created_at) },
  { label: "HTTP status", render: (row) => (row.status_code === null ? "—" : String(row.status_code)) },
  { label: "Outcome", render: (row) => <Badge value={row.outcome} /> },
  { label: "Reason", render: (row) => row.reason },
  { label: "Duration", render: (row) => `${row.duration_ms} ms` },
  { label: "URL", render: (row) => <code class="break">{row.url}</code> },
  {
    label: "Response",
    render: (row) => (row.response_body ? <pre class="code-block code-small">{row.response_body}</pre> : "—"),
  },
];

/** One event: its payload and every delivery attempt; resend it. */
export default function DeliveryPage() {
  const { params } = useRoute();
  const detail = useApi<DeliveryDetail>(`${DELIVERIES}/${segment(params.id)}`);
  const can = useCan();
  const resend = useAction(() =>
    api<{ message: string }>(`${DELIVERIES}/${segment(params.id)}/resend`, { method: "POST" }),
  );
  const event = detail.data;
  return (
    <Page
      title={event ? `Event ${event.type}` : "Event"}
      lead={<a href={`${BASE}/webhooks/deliveries`}>All deliveries</a>}
      actions={
        <>
          <button type="button" class="button" onClick={detail.reload} disabled={detail.loading}>
            Refresh
          </button>
          {event && can("webhooks.manage") && event.status !== "pending" ? (
            <button
              type="button"
              class="button button-primary"
              disabled={resend.pending}
              onClick={async () => {
                const answer = await resend.run();
                if (answer) {
                  announce(answer.message);
                  detail.reload();
                }
              }}
            >
              Resend
            </button>
          ) : null}
        </>
      }
    >
      <ErrorMessage error={detail.error ?? resend.error} />
      {detail.loading && !event ? <Loading /> : null}
      {event ? (
        <>
          <Card title="Delivery">
            <Facts
              items={[
                ["Event id", <code key="id">{event.event_id}</code>],
                ["Status", <Badge key="s" value={event.status} />],
                ["Attempts", String(event.attempts)],
                ["Created", formatDateTime(event.created_at)],
                ["Delivered", formatDateTime(event.delivered_at)],
                ["Next attempt", formatDateTime(event.next_attempt_at)],
                ["Last error", event.last_error ?? "—"],
              ]}
            />
          </Card>
          <Card title="Attempts">
            <Table
              caption="Delivery attempts"
              columns={attemptColumns}
              rows={event.attempt_log}
              rowKey={(row) => `${row.attempt}-${row.created_at}`}
              empty="No attempt yet."
            />
          </Card>
          <Card title="Payload">
            <pre class="code-block">{JSON.stringify(event.payload, null, 2)}</pre>
          </Card>
        </>
      ) : null}
    </Page>
  );
}
