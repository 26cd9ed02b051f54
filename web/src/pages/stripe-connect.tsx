import { useEffect, useState } from "preact/hooks";
import { ActionDialog } from "../components/dialog";
import { announce, Badge, ErrorMessage, Loading, Notice } from "../components/feedback";
import { Card, Facts, Page } from "../components/page";
import { api, TENANTS } from "../lib/api";
import { humanize } from "../lib/format";
import { useAction, useApi } from "../lib/hooks";
import { useCan } from "../lib/permissions";
import { reloadIdentity } from "../lib/session";
import type { ConnectStatus } from "../lib/types";

const STATUS = `${TENANTS}/stripe/status`;
const POLL_MS = 3000;

function Requirements({ title, items }: { title: string; items: string[] }) {
  if (!items.length) return null;
  return (
    <div>
      <h3>{title}</h3>
      <ul class="requirements">
        {items.map((item) => (
          <li key={item}>
            <code>{item}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * Connection status and requirements; an owner connects (Stripe's onboarding opens in a new tab,
 * and this page follows the status until the account is connected) or disconnects.
 */
export default function StripeConnect() {
  const status = useApi<ConnectStatus>(STATUS);
  const can = useCan();
  const [onboardingUrl, setOnboardingUrl] = useState<string | null>(null);
  const [confirmDisconnect, setConfirmDisconnect] = useState(false);
  const start = useAction(() =>
    api<{ url: string }>(`${TENANTS}/stripe/connect`, { body: { flow: "account_links" } }),
  );
  const disconnect = useAction(() =>
    api<{ message: string }>(`${TENANTS}/stripe/disconnect`, { method: "POST" }),
  );
  const current = status.data;
  const complete = current?.connected === true && current.status === "active";

  // While onboarding is open in another tab, follow the status until Stripe reports it complete.
  useEffect(() => {
    if (!onboardingUrl) return;
    if (complete) {
      setOnboardingUrl(null);
      announce("Stripe account connected");
      void reloadIdentity();
      return;
    }
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") status.reload();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [onboardingUrl, complete, status.reload]);

  return (
    <Page title="Stripe Connect" lead="Your customers pay into your own Stripe account, connected here.">
      <ErrorMessage error={status.error} />
      {!current ? (
        status.loading ? (
          <Loading />
        ) : null
      ) : (
        <Card
          title="Connection"
          actions={
            <button type="button" class="button" onClick={status.reload} disabled={status.loading}>
              Refresh status
            </button>
          }
        >
          {current.connected ? (
            <>
              <Facts
                items={[
                  ["Status", <Badge key="s" value={current.status} />],
                  ["Account", <code key="a">{current.account_id}</code>],
                  ["Charges enabled", current.charges_enabled ? "Yes" : "No"],
                  ["Payouts enabled", current.payouts_enabled ? "Yes" : "No"],
                  ["Details submitted", current.account_details.details_submitted ? "Yes" : "No"],
                  ["Email", current.account_details.email ?? "—"],
                  ["Country", current.account_details.country ?? "—"],
                  ["Default currency", current.account_details.default_currency?.toUpperCase() ?? "—"],
                ]}
              />
              {current.requirements.disabled_reason ? (
                <Notice kind="warning">
                  Stripe restricts this account: {humanize(current.requirements.disabled_reason)}.
                </Notice>
              ) : null}
              <Requirements title="Past due at Stripe" items={current.requirements.past_due} />
              <Requirements title="Currently due" items={current.requirements.currently_due} />
              <Requirements title="Eventually due" items={current.requirements.eventually_due} />
            </>
          ) : (
            <p>
              <Badge value="not_connected" /> {current.message}
            </p>
          )}
          {can("stripe.manage") ? (
            <div class="button-row">
              {!complete ? (
                <button
                  type="button"
                  class="button button-primary"
                  disabled={start.pending}
                  onClick={async () => {
                    const answer = await start.run();
                    if (answer) setOnboardingUrl(answer.url);
                  }}
                >
                  {current.connected ? "Continue onboarding at Stripe" : "Connect Stripe"}
                </button>
              ) : null}
              {current.connected ? (
                <button type="button" class="button button-danger" onClick={() => setConfirmDisconnect(true)}>
                  Disconnect
                </button>
              ) : null}
            </div>
          ) : (
            <p class="hint">Only an owner can connect or disconnect the Stripe account.</p>
          )}
          <ErrorMessage error={start.error} />
          {onboardingUrl ? (
            <div class="alert alert-info" role="status">
              <p>
                <a
                  class="button button-primary"
                  href={onboardingUrl}
                  target="_blank"
                  rel="noopener noreferrer"
                >
                  Open Stripe onboarding <span class="visually-hidden">(opens in a new tab)</span>
                </a>
              </p>
              <p>
                Finish onboarding in the new tab; this page updates by itself when Stripe reports the account
                ready.
              </p>
            </div>
          ) : null}
        </Card>
      )}
      <ActionDialog
        open={confirmDisconnect}
        title="Disconnect Stripe"
        message="Plans and new subscriptions need a connected account. The Stripe account itself is not deleted; you can connect again later."
        confirmLabel="Disconnect"
        danger
        action={disconnect}
        onClose={() => setConfirmDisconnect(false)}
        onDone={(answer) => {
          setConfirmDisconnect(false);
          announce(answer.message);
          status.reload();
          void reloadIdentity();
        }}
      />
    </Page>
  );
}
