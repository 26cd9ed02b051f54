import { useEffect, useState } from "preact/hooks";
import { TENANT_EVENT_TYPES } from "../../../../src/modules/webhooks/event-types";
import { ConfirmDialog } from "../../components/dialog";
import { announce, Badge, ErrorMessage, Loading, Notice } from "../../components/feedback";
import { Checkbox, Form, SubmitButton, TextField } from "../../components/form";
import { Card, Facts, Page } from "../../components/page";
import { OnceWarning, SecretReveal } from "../../components/secret";
import { api, TENANTS } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useAction, useApi } from "../../lib/hooks";
import { useCan } from "../../lib/permissions";
import type { WebhookConfig } from "../../lib/types";
import { BASE } from "../../routes";
import { TestSend } from "./test-send";

const CONFIG = `${TENANTS}/webhooks/config`;

interface Configured {
  message: string;
  webhook_url: string;
  webhook_secret: string;
  enabled_events: string[];
  warning?: string;
}

/** A secret answered in full (new or rotated) rather than masked. */
const isFullSecret = (secret: string) => secret.startsWith("whsec_") && !secret.includes("*");

/** The tenant's endpoint: URL, event filter, signing secret (rotation), removal, test send. */
export default function Webhooks() {
  const config = useApi<WebhookConfig>(CONFIG);
  const can = useCan();
  const [secret, setSecret] = useState<string | null>(null);
  const [dialog, setDialog] = useState<"rotate" | "remove" | null>(null);
  const current = config.data;

  const rotate = useAction(() =>
    api<Configured>(CONFIG, {
      body: {
        webhook_url: current?.webhook_url,
        regenerate_secret: true,
        enabled_events: current?.enabled_events,
      },
    }),
  );
  const remove = useAction(() => api<{ message: string }>(CONFIG, { method: "DELETE" }));

  return (
    <Page
      title="Webhooks"
      lead={
        <>
          We send signed events to your endpoint. See every delivery in the{" "}
          <a href={`${BASE}/webhooks/deliveries`}>delivery log</a>.
        </>
      }
    >
      <ErrorMessage error={config.error} />
      {config.loading && !current ? <Loading /> : null}
      {secret ? (
        <Card title="Your signing secret">
          <OnceWarning what="signing secret" />
          <SecretReveal label="Signing secret" value={secret} />
          <button type="button" class="button" onClick={() => setSecret(null)}>
            I saved the secret
          </button>
        </Card>
      ) : null}
      {current ? (
        <Card
          title="Endpoint"
          actions={
            current.configured ? (
              <>
                {can("webhooks.manage") ? (
                  <button type="button" class="button" onClick={() => setDialog("rotate")}>
                    Rotate secret
                  </button>
                ) : null}
                {can("webhooks.remove") ? (
                  <button type="button" class="button button-danger" onClick={() => setDialog("remove")}>
                    Remove endpoint
                  </button>
                ) : null}
              </>
            ) : null
          }
        >
          {current.configured ? (
            <Facts
              items={[
                ["URL", <code key="u">{current.webhook_url}</code>],
                ["Status", <Badge key="s" value={current.status ?? "none"} />],
                ...(current.disabled_reason
                  ? ([
                      [
                        "Disabled because",
                        `${current.disabled_reason} (${formatDateTime(current.disabled_at)})`,
                      ],
                    ] as [string, string][])
                  : []),
                ["Signing secret", <code key="k">{current.webhook_secret ?? "—"}</code>],
                ...(current.previous_secret_expires_at
                  ? ([
                      ["Previous secret signs until", formatDateTime(current.previous_secret_expires_at)],
                    ] as [string, string][])
                  : []),
                [
                  "Events",
                  current.enabled_events.includes("*") ? "All events" : current.enabled_events.join(", "),
                ],
              ]}
            />
          ) : (
            <p>No endpoint is configured: events are recorded but not sent.</p>
          )}
          {current.status === "disabled" ? (
            <Notice kind="warning">
              Deliveries are paused. Saving the configuration again re-enables the endpoint.
            </Notice>
          ) : null}
        </Card>
      ) : null}
      {current && can("webhooks.manage") ? (
        <ConfigureForm
          config={current}
          onSaved={(answer) => {
            if (isFullSecret(answer.webhook_secret)) setSecret(answer.webhook_secret);
            announce(answer.message);
            config.reload();
          }}
        />
      ) : null}
      {current?.configured && can("webhooks.manage") ? <TestSend /> : null}
      <ConfirmDialog
        open={dialog === "rotate"}
        title="Rotate the signing secret"
        message="A new secret is created and shown once. The current secret keeps signing alongside it for 24 hours, so you can update your receiver without missing events."
        confirmLabel="Rotate secret"
        pending={rotate.pending}
        error={rotate.error}
        onClose={() => setDialog(null)}
        onConfirm={async () => {
          const answer = await rotate.run();
          if (!answer) return;
          setDialog(null);
          setSecret(answer.webhook_secret);
          announce("Signing secret rotated");
          config.reload();
        }}
      />
      <ConfirmDialog
        open={dialog === "remove"}
        title="Remove the endpoint"
        message="Events stop being sent (they are still recorded). The signing secret is kept for when you configure a URL again."
        confirmLabel="Remove endpoint"
        danger
        pending={remove.pending}
        error={remove.error}
        onClose={() => setDialog(null)}
        onConfirm={async () => {
          const answer = await remove.run();
          if (!answer) return;
          setDialog(null);
          announce(answer.message);
          config.reload();
        }}
      />
    </Page>
  );
}

function ConfigureForm({
  config,
  onSaved,
}: {
  config: WebhookConfig;
  onSaved: (answer: Configured) => void;
}) {
  const [url, setUrl] = useState(config.webhook_url ?? "");
  const [all, setAll] = useState(config.enabled_events.length === 0 || config.enabled_events.includes("*"));
  const [events, setEvents] = useState<string[]>(config.enabled_events.filter((event) => event !== "*"));
  useEffect(() => {
    setUrl(config.webhook_url ?? "");
  }, [config.webhook_url]);
  const save = useAction(() =>
    api<Configured>(CONFIG, { body: { webhook_url: url.trim(), enabled_events: all ? ["*"] : events } }),
  );
  const toggle = (event: string, on: boolean) =>
    setEvents(on ? [...events, event] : events.filter((name) => name !== event));
  return (
    <Card title={config.configured ? "Change the endpoint" : "Configure an endpoint"}>
      <Form
        label="Webhook endpoint"
        onSubmit={async () => {
          const answer = await save.run();
          if (answer) onSaved(answer);
        }}
      >
        <TextField
          label="Endpoint URL"
          type="url"
          required
          placeholder="https://example.com/webhooks/billing"
          hint="https only, on a public host."
          value={url}
          onValue={setUrl}
          error={save.error?.field("webhook_url")}
        />
        <fieldset class="fieldset">
          <legend>Events to send</legend>
          <Checkbox label="All events" checked={all} onChecked={setAll} />
          {all ? null : (
            <div class="checkbox-grid">
              {TENANT_EVENT_TYPES.map((event) => (
                <Checkbox
                  key={event}
                  label={<code>{event}</code>}
                  checked={events.includes(event)}
                  onChecked={(on) => toggle(event, on)}
                />
              ))}
            </div>
          )}
        </fieldset>
        <ErrorMessage error={save.error} />
        <SubmitButton pending={save.pending}>Save endpoint</SubmitButton>
      </Form>
    </Card>
  );
}
