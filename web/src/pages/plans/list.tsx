import { useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { announce, Badge, ErrorMessage, Loading } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { type Column, LoadMore, Table } from "../../components/table";
import { PLANS } from "../../lib/api";
import { formatDate } from "../../lib/format";
import { useDebounced, usePagedList } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import type { BillingInterval, Plan } from "../../lib/types";
import { BASE } from "../../routes";
import { DeactivateDialog, DuplicateDialog, INTERVAL_OPTIONS } from "./dialogs";

type ActiveFilter = "" | "true" | "false";

/** The tenant's plans: search and filters, then create, edit, duplicate, deactivate. */
export default function PlansList() {
  const can = useCan();
  const { route } = useLocation();
  const [search, setSearch] = useState("");
  const [active, setActive] = useState<ActiveFilter>("");
  const [interval, setInterval] = useState<"" | BillingInterval>("");
  const query = useDebounced(search.trim());
  const list = usePagedList<Plan>(PLANS, { search: query, is_active: active, billing_interval: interval });
  const [duplicating, setDuplicating] = useState<Plan | null>(null);
  const [deactivating, setDeactivating] = useState<Plan | null>(null);
  const manage = can("plans.manage");

  const columns: Column<Plan>[] = [
    { label: "Name", render: (plan) => <a href={`${BASE}/plans/${plan.id}`}>{plan.name}</a> },
    { label: "Price", render: (plan) => plan.price_display },
    { label: "Trial", render: (plan) => (plan.has_trial ? `${plan.trial_days} days` : "—") },
    { label: "Status", render: (plan) => <Badge value={plan.is_active ? "active" : "inactive"} /> },
    { label: "Visible", render: (plan) => (plan.is_visible ? "Yes" : "No") },
    { label: "Mode", render: (plan) => (plan.livemode ? "Live" : "Test") },
    { label: "Created", render: (plan) => formatDate(plan.created_at) },
  ];
  if (manage) {
    columns.push({
      label: "Actions",
      hiddenLabel: true,
      render: (plan) => (
        <div class="row-actions">
          <a class="button button-small" href={`${BASE}/plans/${plan.id}`} aria-label={`Edit ${plan.name}`}>
            Edit
          </a>
          <button
            type="button"
            class="button button-small"
            aria-label={`Duplicate ${plan.name}`}
            onClick={() => setDuplicating(plan)}
          >
            Duplicate
          </button>
          {plan.is_active ? (
            <button
              type="button"
              class="button button-small button-danger"
              aria-label={`Deactivate ${plan.name}`}
              onClick={() => setDeactivating(plan)}
            >
              Deactivate
            </button>
          ) : null}
        </div>
      ),
    });
  }

  return (
    <Page
      title="Plans"
      lead="What your customers subscribe to. Each plan is a product and a recurring price in your Stripe account."
      actions={
        manage ? (
          <a class="button button-primary" href={`${BASE}/plans/new`}>
            New plan
          </a>
        ) : null
      }
    >
      <Card>
        <search class="filters" aria-label="Filter plans">
          <TextField label="Search by name" type="search" value={search} onValue={setSearch} />
          <SelectField
            label="Status"
            value={active}
            onValue={setActive}
            options={[
              ["", "All"],
              ["true", "Active"],
              ["false", "Inactive"],
            ]}
          />
          <SelectField
            label="Interval"
            value={interval}
            onValue={setInterval}
            options={[["", "All"], ...INTERVAL_OPTIONS]}
          />
        </search>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <Table
            caption="Plans"
            columns={columns}
            rows={list.data}
            rowKey={(plan) => plan.id}
            empty={search || active || interval ? "No plan matches these filters." : "No plans yet."}
          />
        ) : null}
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onLoad={list.loadMore} />
      </Card>
      <DuplicateDialog
        plan={duplicating}
        onClose={() => setDuplicating(null)}
        onDone={(copy) => {
          setDuplicating(null);
          announce(`Plan ${copy.name} created`);
          route(`${BASE}/plans/${copy.id}`);
        }}
      />
      <DeactivateDialog
        plan={deactivating}
        onClose={() => setDeactivating(null)}
        onDone={() => {
          announce(`Plan ${deactivating?.name ?? ""} deactivated`);
          setDeactivating(null);
          list.reload();
        }}
      />
    </Page>
  );
}
