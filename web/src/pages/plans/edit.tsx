import { useEffect, useState } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso/router";
import { announce, Badge, ErrorMessage, Loading, Notice } from "../../components/feedback";
import { Checkbox, Form, SelectField, SubmitButton, TextArea, TextField } from "../../components/form";
import { Card, Facts, Page } from "../../components/page";
import { type ApiError, api, PLANS, segment } from "../../lib/api";
import { formatDateTime, fromMinorUnits, toMinorUnits } from "../../lib/format";
import { useAction, useApi } from "../../lib/hooks";
import { lines, metadataText, parseMetadata } from "../../lib/metadata";
import { useCan } from "../../lib/permissions";
import type { BillingInterval, Plan } from "../../lib/types";
import { BASE } from "../../routes";
import { DeactivateDialog, DuplicateDialog, INTERVAL_OPTIONS } from "./dialogs";

interface Draft {
  name: string;
  description: string;
  amount: string;
  currency: string;
  interval: BillingInterval;
  trialDays: string;
  features: string;
  metadata: string;
  visible: boolean;
}

const EMPTY: Draft = {
  name: "",
  description: "",
  amount: "",
  currency: "usd",
  interval: "month",
  trialDays: "0",
  features: "",
  metadata: "",
  visible: true,
};

const toDraft = (plan: Plan): Draft => ({
  name: plan.name,
  description: plan.description ?? "",
  amount: fromMinorUnits(plan.price_cents, plan.currency),
  currency: plan.currency,
  interval: plan.billing_interval,
  trialDays: String(plan.trial_days),
  features: plan.features.join("\n"),
  metadata: metadataText(plan.metadata),
  visible: plan.is_visible,
});

/** The fields both create and update send; price, currency and interval only on create. */
function body(draft: Draft, creating: boolean) {
  const trial = Number(draft.trialDays || "0");
  const common = {
    name: draft.name.trim(),
    description: draft.description.trim() || null,
    trial_days: Number.isInteger(trial) ? trial : Number.NaN,
    features: lines(draft.features),
    metadata: parseMetadata(draft.metadata),
    is_visible: draft.visible,
  };
  if (!creating) return common;
  const price = toMinorUnits(draft.amount, draft.currency);
  if (price === null) throw new Error("Enter the price as a number, e.g. 29.99");
  return {
    ...common,
    price_cents: price,
    currency: draft.currency.trim().toLowerCase(),
    billing_interval: draft.interval,
  };
}

/** `/plans/new` creates; `/plans/:id` shows a plan and, for owners and admins, edits it. */
export default function PlanEditor() {
  const { params } = useRoute();
  const id = params.id;
  const creating = !id;
  const plan = useApi<Plan>(creating ? null : `${PLANS}/${segment(id)}`);
  const can = useCan();
  const { route } = useLocation();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [duplicating, setDuplicating] = useState<Plan | null>(null);
  const [deactivating, setDeactivating] = useState<Plan | null>(null);
  useEffect(() => {
    if (plan.data) setDraft(toDraft(plan.data));
  }, [plan.data]);

  const save = useAction(() =>
    creating
      ? api<Plan>(PLANS, { body: body(draft, true) })
      : api<Plan>(`${PLANS}/${segment(id)}`, { method: "PATCH", body: body(draft, false) }),
  );
  const editable = can("plans.manage") && (creating || plan.data?.is_active === true);
  const title = creating ? "New plan" : (plan.data?.name ?? "Plan");

  if (!creating && !plan.data) {
    return (
      <Page title="Plan">
        <ErrorMessage error={plan.error} />
        {plan.loading ? <Loading /> : null}
      </Page>
    );
  }

  const current = plan.data;
  return (
    <Page
      title={title}
      lead={<a href={`${BASE}/plans`}>All plans</a>}
      actions={
        current && can("plans.manage") ? (
          <>
            <button type="button" class="button" onClick={() => setDuplicating(current)}>
              Duplicate
            </button>
            {current.is_active ? (
              <button type="button" class="button button-danger" onClick={() => setDeactivating(current)}>
                Deactivate
              </button>
            ) : null}
          </>
        ) : null
      }
    >
      {current ? <PlanFacts plan={current} /> : null}
      <Card title={creating ? "Plan details" : editable ? "Edit" : "Details"}>
        {current && !current.is_active ? (
          <Notice kind="warning">This plan is inactive: it can no longer be changed.</Notice>
        ) : null}
        <Form
          label={creating ? "New plan" : "Edit plan"}
          onSubmit={async () => {
            const saved = await save.run();
            if (!saved) return;
            announce(creating ? `Plan ${saved.name} created` : "Changes saved");
            if (creating) route(`${BASE}/plans/${saved.id}`, true);
            else plan.reload();
          }}
        >
          <PlanFields
            draft={draft}
            setDraft={setDraft}
            creating={creating}
            disabled={!editable}
            error={save.error}
          />
          <ErrorMessage error={save.error} />
          {editable ? (
            <SubmitButton pending={save.pending}>{creating ? "Create plan" : "Save changes"}</SubmitButton>
          ) : null}
        </Form>
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
          setDeactivating(null);
          announce("Plan deactivated");
          plan.reload();
        }}
      />
    </Page>
  );
}

function PlanFacts({ plan }: { plan: Plan }) {
  return (
    <Card title="Summary">
      <Facts
        items={[
          ["Price", plan.price_display],
          ["Status", <Badge key="s" value={plan.is_active ? "active" : "inactive"} />],
          ["Mode", plan.livemode ? "Live" : "Test"],
          ["Plan id", <code key="id">{plan.id}</code>],
          ["Stripe product", <code key="p">{plan.stripe_product_id}</code>],
          ["Stripe price", <code key="pr">{plan.stripe_price_id}</code>],
          ["Created", formatDateTime(plan.created_at)],
          ["Updated", formatDateTime(plan.updated_at)],
        ]}
      />
    </Card>
  );
}

function PlanFields({
  draft,
  setDraft,
  creating,
  disabled,
  error,
}: {
  draft: Draft;
  setDraft: (draft: Draft) => void;
  creating: boolean;
  disabled: boolean;
  error: ApiError | null;
}) {
  const set = (key: keyof Draft) => (value: string) => setDraft({ ...draft, [key]: value });
  const fixed = !creating || disabled;
  return (
    <fieldset disabled={disabled} class="fieldset-plain">
      <TextField
        label="Name"
        required
        maxLength={100}
        value={draft.name}
        onValue={set("name")}
        error={error?.field("name")}
      />
      <TextArea
        label="Description"
        value={draft.description}
        onValue={set("description")}
        rows={2}
        error={error?.field("description")}
      />
      <div class="field-row">
        <TextField
          label="Price"
          inputMode="decimal"
          required
          readOnly={fixed}
          value={draft.amount}
          onValue={set("amount")}
          hint={
            creating ? "In the currency's units, e.g. 29.99" : "Fixed: duplicate the plan to change its price"
          }
          error={error?.field("price_cents")}
        />
        <TextField
          label="Currency"
          required
          maxLength={3}
          readOnly={fixed}
          value={draft.currency}
          onValue={set("currency")}
          error={error?.field("currency")}
        />
      </div>
      {creating ? (
        <SelectField
          label="Billing interval"
          value={draft.interval}
          onValue={(value) => setDraft({ ...draft, interval: value })}
          options={INTERVAL_OPTIONS}
        />
      ) : (
        <TextField
          label="Billing interval"
          readOnly
          value={`Every ${draft.interval}`}
          onValue={() => undefined}
        />
      )}
      <TextField
        label="Free trial (days)"
        type="number"
        min={0}
        max={730}
        value={draft.trialDays}
        onValue={set("trialDays")}
        error={error?.field("trial_days")}
      />
      <TextArea
        label="Features"
        hint="One per line."
        value={draft.features}
        onValue={set("features")}
        error={error?.field("features")}
      />
      <TextArea
        label="Metadata"
        hint="One key=value per line."
        value={draft.metadata}
        onValue={set("metadata")}
        rows={3}
        error={error?.field("metadata")}
      />
      <Checkbox
        label="Visible on pricing pages"
        hint="Publishable keys list only visible, active plans."
        checked={draft.visible}
        onChecked={(visible) => setDraft({ ...draft, visible })}
      />
    </fieldset>
  );
}
