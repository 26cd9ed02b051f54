import { TextArea, TextField } from "../../components/form";
import type { ApiError } from "../../lib/api";
import type { Address, Customer } from "../../lib/billing-types";
import { metadataText, parseMetadata } from "../../lib/metadata";

export interface CustomerDraft {
  name: string;
  email: string;
  phone: string;
  externalId: string;
  description: string;
  line1: string;
  line2: string;
  city: string;
  state: string;
  postalCode: string;
  country: string;
  metadata: string;
}

export const EMPTY_CUSTOMER: CustomerDraft = {
  name: "",
  email: "",
  phone: "",
  externalId: "",
  description: "",
  line1: "",
  line2: "",
  city: "",
  state: "",
  postalCode: "",
  country: "",
  metadata: "",
};

export const toCustomerDraft = (customer: Customer): CustomerDraft => ({
  name: customer.name ?? "",
  email: customer.email ?? "",
  phone: customer.phone ?? "",
  externalId: customer.external_id ?? "",
  description: customer.description ?? "",
  line1: customer.address?.line1 ?? "",
  line2: customer.address?.line2 ?? "",
  city: customer.address?.city ?? "",
  state: customer.address?.state ?? "",
  postalCode: customer.address?.postal_code ?? "",
  country: customer.address?.country ?? "",
  metadata: metadataText(customer.metadata),
});

/**
 * The request body. Creating leaves empty fields out; updating sends them as `null`, which
 * clears them (metadata is replaced whole).
 */
export function customerBody(draft: CustomerDraft, creating: boolean) {
  const empty = creating ? undefined : null;
  const text = (value: string) => value.trim() || empty;
  const address: Address = {
    line1: text(draft.line1),
    line2: text(draft.line2),
    city: text(draft.city),
    state: text(draft.state),
    postal_code: text(draft.postalCode),
    country: draft.country.trim().toUpperCase() || empty,
  };
  const hasAddress = Object.values(address).some(Boolean);
  return {
    name: text(draft.name),
    email: text(draft.email),
    phone: text(draft.phone),
    external_id: text(draft.externalId),
    description: text(draft.description),
    address: hasAddress ? address : empty,
    metadata: parseMetadata(draft.metadata),
  };
}

/** The customer's fields, each labelled and tied to the API's message for it. */
export function CustomerFields({
  draft,
  setDraft,
  error,
}: {
  draft: CustomerDraft;
  setDraft: (draft: CustomerDraft) => void;
  error: ApiError | null;
}) {
  const set = (key: keyof CustomerDraft) => (value: string) => setDraft({ ...draft, [key]: value });
  const field = (name: string) => error?.field(name);
  return (
    <>
      <div class="field-row">
        <TextField
          label="Name"
          maxLength={200}
          value={draft.name}
          onValue={set("name")}
          error={field("name")}
        />
        <TextField
          label="Email"
          type="email"
          maxLength={254}
          value={draft.email}
          onValue={set("email")}
          error={field("email")}
        />
      </div>
      <div class="field-row">
        <TextField
          label="Phone"
          maxLength={40}
          value={draft.phone}
          onValue={set("phone")}
          error={field("phone")}
        />
        <TextField
          label="Your id for this customer"
          maxLength={100}
          value={draft.externalId}
          onValue={set("externalId")}
          hint="Optional, unique; usable in API paths as ext:<id>."
          error={field("external_id")}
        />
      </div>
      <TextArea
        label="Description"
        rows={2}
        value={draft.description}
        onValue={set("description")}
        error={field("description")}
      />
      <fieldset class="fieldset">
        <legend>Address</legend>
        <TextField
          label="Address line 1"
          maxLength={200}
          value={draft.line1}
          onValue={set("line1")}
          error={field("address.line1")}
        />
        <TextField
          label="Address line 2"
          maxLength={200}
          value={draft.line2}
          onValue={set("line2")}
          error={field("address.line2")}
        />
        <div class="field-row">
          <TextField
            label="City"
            maxLength={100}
            value={draft.city}
            onValue={set("city")}
            error={field("address.city")}
          />
          <TextField
            label="State or region"
            maxLength={100}
            value={draft.state}
            onValue={set("state")}
            error={field("address.state")}
          />
        </div>
        <div class="field-row">
          <TextField
            label="Postal code"
            maxLength={20}
            value={draft.postalCode}
            onValue={set("postalCode")}
            error={field("address.postal_code")}
          />
          <TextField
            label="Country"
            maxLength={2}
            value={draft.country}
            onValue={set("country")}
            hint="Two-letter code: US, FR, DE…"
            error={field("address.country")}
          />
        </div>
      </fieldset>
      <TextArea
        label="Metadata"
        hint="One key=value per line."
        rows={3}
        value={draft.metadata}
        onValue={set("metadata")}
        error={field("metadata")}
      />
    </>
  );
}

/** How a customer is named in lists and headings. */
export const customerLabel = (customer: Pick<Customer, "name" | "email" | "id">) =>
  customer.name || customer.email || customer.id;
