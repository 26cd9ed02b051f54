import { useEffect, useState } from "preact/hooks";
import { ErrorMessage, Loading } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Facts } from "../../components/page";
import { type Page as ApiPage, CUSTOMERS, segment } from "../../lib/api";
import type { Customer } from "../../lib/billing-types";
import { useApi, useDebounced } from "../../lib/hooks";
import { BASE } from "../../routes";
import { customerLabel } from "./fields";

/** A customer given in the address (`?customer=`), or one found by name or email. */
export function CustomerPicker({
  presetId,
  customer,
  onCustomer,
}: {
  presetId: string | undefined;
  customer: Customer | null;
  onCustomer: (customer: Customer | null) => void;
}) {
  const preset = useApi<Customer>(presetId ? `${CUSTOMERS}/${segment(presetId)}` : null);
  const [search, setSearch] = useState("");
  const term = useDebounced(search.trim());
  const found = useApi<ApiPage<Customer>>(presetId ? null : CUSTOMERS, { search: term, limit: 20 });
  const options = found.data?.data ?? [];

  useEffect(() => {
    if (preset.data) onCustomer(preset.data);
  }, [preset.data]);
  useEffect(() => {
    if (presetId) return;
    if (!options.some((item) => item.id === customer?.id)) onCustomer(options[0] ?? null);
  }, [found.data]);

  if (presetId) {
    return (
      <div>
        <ErrorMessage error={preset.error} />
        {preset.data ? (
          <Facts
            items={[
              [
                "Customer",
                <a key="c" href={`${BASE}/customers/${preset.data.id}`}>
                  {customerLabel(preset.data)}
                </a>,
              ],
            ]}
          />
        ) : (
          <Loading label="Loading the customer…" />
        )}
      </div>
    );
  }
  return (
    <fieldset class="fieldset">
      <legend>Customer</legend>
      <TextField
        label="Find a customer"
        type="search"
        value={search}
        onValue={setSearch}
        hint="Name or email."
      />
      <ErrorMessage error={found.error} />
      <SelectField
        label="Customer"
        value={customer?.id ?? ""}
        onValue={(id) => onCustomer(options.find((item) => item.id === id) ?? null)}
        options={
          options.length
            ? options.map(
                (item) =>
                  [
                    item.id,
                    `${customerLabel(item)}${item.email && item.name ? ` <${item.email}>` : ""}`,
                  ] as const,
              )
            : [["", found.loading ? "Searching…" : "No customer found"] as const]
        }
      />
    </fieldset>
  );
}
