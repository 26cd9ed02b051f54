import { useState } from "preact/hooks";
import { Badge, ErrorMessage, Loading } from "../../components/feedback";
import { SelectField } from "../../components/form";
import { Card } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { ANALYTICS } from "../../lib/api";
import { MOVEMENT_TYPES, type Movement, type MovementType } from "../../lib/billing-types";
import { formatDateTime, formatMoney, humanize } from "../../lib/format";
import { usePagedList } from "../../lib/hooks";
import { BASE } from "../../routes";
import { MOVEMENT_BADGE } from "../customers/customer-mrr";
import { CsvButton } from "./csv";

const TYPE_OPTIONS = [["", "All"], ...MOVEMENT_TYPES.map((type) => [type, humanize(type)] as const)] as const;

const columns: Column<Movement>[] = [
  { label: "When", render: (row) => formatDateTime(row.effective_at) },
  { label: "Movement", render: (row) => <Badge value={MOVEMENT_BADGE[row.type]} label={row.type} /> },
  {
    label: "Change",
    render: (row) => `${row.amount >= 0 ? "+" : "−"}${formatMoney(Math.abs(row.amount), row.currency)}`,
  },
  { label: "MRR before", render: (row) => formatMoney(row.mrr_before, row.currency) },
  { label: "MRR after", render: (row) => formatMoney(row.mrr_after, row.currency) },
  {
    label: "Customer",
    render: (row) => (
      <a href={`${BASE}/customers/${row.customer}`}>
        <code class="break">{row.customer}</code>
      </a>
    ),
  },
  {
    label: "Subscription",
    render: (row) =>
      row.subscription ? (
        <a href={`${BASE}/subscriptions/${row.subscription}`}>
          <code class="break">{row.subscription}</code>
        </a>
      ) : (
        "—"
      ),
  },
];

/** The MRR ledger in the range, newest first, a page at a time. */
export function Movements({ range }: { range: { from: string; to: string; currency: string } }) {
  const [type, setType] = useState<"" | MovementType>("");
  const query = { ...range, type };
  const list = usePagedList<Movement>(`${ANALYTICS}/movements`, query);
  return (
    <Card
      title="Movements"
      id="movements"
      actions={
        <CsvButton
          path={`${ANALYTICS}/movements`}
          query={{ ...query, limit: 100 }}
          file="mrr-movements.csv"
          label="Download CSV (newest 100)"
        />
      }
    >
      <search class="filters" aria-label="Filter movements">
        <SelectField label="Movement type" value={type} onValue={setType} options={TYPE_OPTIONS} />
      </search>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <Table
          caption="MRR movements"
          columns={columns}
          rows={list.data}
          rowKey={(row) => row.id}
          empty="No movement in this range."
        />
      ) : null}
      <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
    </Card>
  );
}
