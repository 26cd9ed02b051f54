import { Badge, ErrorMessage, Loading } from "../components/feedback";
import { Card, Facts, Page } from "../components/page";
import { ANALYTICS, TENANTS } from "../lib/api";
import type { AnalyticsSummary } from "../lib/billing-types";
import { formatDate, formatDateTime, formatMoney, humanize } from "../lib/format";
import { useApi } from "../lib/hooks";
import { useCan } from "../lib/permissions";
import type { TenantDetails } from "../lib/types";
import { BASE } from "../routes";

function Usage({ label, used, limit }: { label: string; used: number; limit: number | null }) {
  const text = limit === null ? `${used} of unlimited` : `${used} of ${limit}`;
  return (
    <div class="usage">
      <div class="usage-label">
        <span>{label}</span>
        <span>{text}</span>
      </div>
      {limit === null ? null : (
        <meter
          min={0}
          max={limit}
          low={limit * 0.7}
          high={limit * 0.9}
          optimum={0}
          value={used}
          aria-label={`${label}: ${text}`}
        >
          {text}
        </meter>
      )}
    </div>
  );
}

/** The tenant at a glance: status and suspension, tier, usage against the tier's limits, Stripe. */
export default function Overview() {
  const details = useApi<TenantDetails>(`${TENANTS}/details`);
  const can = useCan();
  const tenant = details.data;
  return (
    <Page title="Overview">
      <ErrorMessage error={details.error} />
      {!tenant ? (
        details.loading ? (
          <Loading />
        ) : null
      ) : (
        <div class="grid">
          <Card title="Account">
            <Facts
              items={[
                ["Company", tenant.company_name],
                ["Status", <Badge key="status" value={tenant.status} />],
                ...(tenant.status === "suspended"
                  ? ([
                      [
                        "Suspension reason",
                        tenant.suspended_reason ? humanize(tenant.suspended_reason) : "—",
                      ],
                      ["Suspended since", formatDateTime(tenant.suspended_at)],
                    ] as [string, string][])
                  : []),
                ["Platform tier", humanize(tenant.subscription_tier)],
                ["Platform subscription", <Badge key="sub" value={tenant.subscription.status} />],
                ["Domain", tenant.domain ?? "—"],
                ["Tenant id", <code key="id">{tenant.id}</code>],
                ["Member since", formatDate(tenant.created_at)],
              ]}
            />
            <p>
              <a href={`${BASE}/billing`}>Platform plan and limits</a>
            </p>
          </Card>
          <Card title="Usage against your limits">
            <Usage label="Team members" used={tenant.usage.users} limit={tenant.usage_limits.users} />
            <Usage label="Active plans" used={tenant.usage.plans} limit={tenant.usage_limits.plans} />
            <Usage
              label="Webhook endpoints"
              used={tenant.usage.webhook_endpoints}
              limit={tenant.usage_limits.webhook_endpoints}
            />
            <Facts
              items={[
                [
                  "API requests per minute, per key",
                  tenant.usage_limits.api_requests_per_minute.toLocaleString(),
                ],
                [
                  "API requests per month",
                  tenant.usage_limits.api_requests_per_month?.toLocaleString() ?? "Unlimited",
                ],
              ]}
            />
          </Card>
          <Card title="Stripe Connect">
            <Facts
              items={[
                ["Connected", tenant.stripe_connect.connected ? "Yes" : "No"],
                ["Status", <Badge key="connect" value={tenant.stripe_connect.status} />],
                ...(tenant.stripe_connect.account_id
                  ? ([["Account", <code key="acct">{tenant.stripe_connect.account_id}</code>]] as [
                      string,
                      preact.ComponentChildren,
                    ][])
                  : []),
              ]}
            />
            <p>
              <a href={`${BASE}/stripe`}>
                {tenant.stripe_connect.connected
                  ? "Connection details"
                  : can("stripe.manage")
                    ? "Connect Stripe"
                    : "Stripe status"}
              </a>
            </p>
          </Card>
          <MrrCard />
          <NextSteps details={tenant} />
        </div>
      )}
    </Page>
  );
}

/** MRR now and its change over the last 30 days, per currency (the analytics summary's default range). */
function MrrCard() {
  const summary = useApi<AnalyticsSummary>(`${ANALYTICS}/summary`);
  const currencies = summary.data?.currencies ?? [];
  const rate = (value: number | null) =>
    value === null
      ? ""
      : ` (${new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(value)})`;
  return (
    <Card title="Monthly recurring revenue" id="overview-mrr">
      <ErrorMessage error={summary.error} />
      {summary.loading && !summary.data ? <Loading /> : null}
      {summary.data && !currencies.length ? <p>No recurring revenue yet.</p> : null}
      {currencies.length ? (
        <Facts
          items={currencies.flatMap((figures): [string, string][] => {
            const moved = figures.mrr - figures.mrr_at_start;
            const code = currencies.length > 1 ? ` (${figures.currency.toUpperCase()})` : "";
            return [
              [`MRR${code}`, formatMoney(figures.mrr, figures.currency)],
              [
                `Last 30 days${code}`,
                `${moved >= 0 ? "+" : "−"}${formatMoney(Math.abs(moved), figures.currency)}${rate(figures.mrr_growth_rate)}`,
              ],
            ];
          })}
        />
      ) : null}
      <p>
        <a href={`${BASE}/analytics`}>Analytics</a>
      </p>
    </Card>
  );
}

function NextSteps({ details }: { details: TenantDetails }) {
  const can = useCan();
  const steps: [string, string][] = [];
  if (!details.stripe_connect.connected && can("stripe.manage"))
    steps.push(["Connect your Stripe account", `${BASE}/stripe`]);
  if (details.stripe_connect.connected && details.usage.plans === 0 && can("plans.manage"))
    steps.push(["Create your first plan", `${BASE}/plans/new`]);
  if (details.usage.webhook_endpoints === 0 && can("webhooks.manage"))
    steps.push(["Receive events: configure a webhook", `${BASE}/webhooks`]);
  if (details.usage.users === 1 && can("team.manage")) steps.push(["Invite your team", `${BASE}/team`]);
  if (!steps.length) return null;
  return (
    <Card title="Next steps">
      <ol class="steps">
        {steps.map(([label, href]) => (
          <li key={href}>
            <a href={href}>{label}</a>
          </li>
        ))}
      </ol>
    </Card>
  );
}
