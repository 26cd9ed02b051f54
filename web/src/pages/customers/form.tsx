import { useEffect, useState } from "preact/hooks";
import { useLocation, useRoute } from "preact-iso/router";
import { announce, ErrorMessage, Loading, Notice } from "../../components/feedback";
import { Form, SubmitButton } from "../../components/form";
import { Card, Page } from "../../components/page";
import { api, CUSTOMERS, segment } from "../../lib/api";
import type { Customer } from "../../lib/billing-types";
import { useAction, useApi } from "../../lib/hooks";
import { BASE } from "../../routes";
import { CustomerFields, customerBody, customerLabel, EMPTY_CUSTOMER, toCustomerDraft } from "./fields";

/** `/customers/new` creates a customer; `/customers/:id/edit` changes one. */
export default function CustomerForm() {
  const { params } = useRoute();
  const id = params.id;
  const creating = !id;
  const { route } = useLocation();
  const customer = useApi<Customer>(creating ? null : `${CUSTOMERS}/${segment(id)}`);
  const [draft, setDraft] = useState(EMPTY_CUSTOMER);
  useEffect(() => {
    if (customer.data) setDraft(toCustomerDraft(customer.data));
  }, [customer.data]);

  const save = useAction(() =>
    creating
      ? api<Customer>(CUSTOMERS, { body: customerBody(draft, true) })
      : api<Customer>(`${CUSTOMERS}/${segment(id)}`, { method: "PATCH", body: customerBody(draft, false) }),
  );

  if (!creating && !customer.data) {
    return (
      <Page title="Edit customer">
        <ErrorMessage error={customer.error} />
        {customer.loading ? <Loading /> : null}
      </Page>
    );
  }
  const current = customer.data;
  const back = current ? `${BASE}/customers/${current.id}` : `${BASE}/customers`;
  return (
    <Page
      title={current ? `Edit ${customerLabel(current)}` : "New customer"}
      lead={<a href={back}>{current ? "Back to the customer" : "All customers"}</a>}
    >
      <Card>
        {current?.deleted ? (
          <Notice kind="warning">This customer is deleted: it can no longer be changed.</Notice>
        ) : null}
        <Form
          label={creating ? "New customer" : "Edit customer"}
          onSubmit={async () => {
            const saved = await save.run();
            if (!saved) return;
            announce(creating ? `Customer ${customerLabel(saved)} created` : "Changes saved");
            route(`${BASE}/customers/${saved.id}`, !creating);
          }}
        >
          <fieldset class="fieldset-plain" disabled={current?.deleted === true}>
            <CustomerFields draft={draft} setDraft={setDraft} error={save.error} />
          </fieldset>
          <ErrorMessage error={save.error} />
          <div class="button-row">
            <a class="button" href={back}>
              Cancel
            </a>
            <SubmitButton pending={save.pending}>
              {creating ? "Create customer" : "Save changes"}
            </SubmitButton>
          </div>
        </Form>
      </Card>
    </Page>
  );
}
