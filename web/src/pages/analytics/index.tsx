import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorMessage, Loading, Notice } from "../../components/feedback";
import { SelectField, TextField } from "../../components/form";
import { Card, Page } from "../../components/page";
import { type Column, Table } from "../../components/table";
import { ANALYTICS } from "../../lib/api";
import type { AnalyticsInterval, AnalyticsSummary, MrrSeries, PlanFigures } from "../../lib/billing-types";
import { addDays, addMonths, isDay, todayUtc } from "../../lib/dates";
import { formatMoney } from "../../lib/format";
import { useApi } from "../../lib/hooks";
import { BASE } from "../../routes";
import { CsvButton } from "./csv";
import { SummaryCards } from "./figures";
import { Movements } from "./movements";
import { MrrChart } from "./mrr-chart";

type Preset = "30d" | "90d" | "12m" | "custom";

const PRESETS: readonly (readonly [Preset, string])[] = [
  ["30d", "Last 30 days"],
  ["90d", "Last 90 days"],
  ["12m", "Last 12 months"],
  ["custom", "Custom range"],
];

const INTERVALS: readonly (readonly [AnalyticsInterval, string])[] = [
  ["day", "Daily"],
  ["week", "Weekly"],
  ["month", "Monthly"],
];

/** A preset's range (UTC days, inclusive) and the interval that suits it. */
function presetRange(preset: Exclude<Preset, "custom">): {
  from: string;
  to: string;
  interval: AnalyticsInterval;
} {
  const to = todayUtc();
  if (preset === "30d") return { from: addDays(to, -29), to, interval: "day" };
  if (preset === "90d") return { from: addDays(to, -89), to, interval: "week" };
  return { from: addMonths(`${to.slice(0, 8)}01`, -11), to, interval: "month" };
}

/** MRR over time with its movements, the period's figures, MRR by plan and the ledger; CSV of each. */
export default function Analytics() {
  const [preset, setPreset] = useState<Preset>("30d");
  const [customFrom, setCustomFrom] = useState(() => addDays(todayUtc(), -29));
  const [customTo, setCustomTo] = useState(todayUtc);
  const [interval, setInterval] = useState<AnalyticsInterval>("day");
  const [picked, setPicked] = useState("");
  // Refresh re-reads everything: the figures move as Stripe's events reach the mirror.
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (preset !== "custom") setInterval(presetRange(preset).interval);
  }, [preset]);

  const range =
    preset === "custom"
      ? { from: customFrom, to: customTo }
      : (({ from, to }) => ({ from, to }))(presetRange(preset));
  const valid = isDay(range.from) && isDay(range.to);
  const summary = useApi<AnalyticsSummary>(valid ? `${ANALYTICS}/summary` : null, range);
  const currencies = summary.data?.currencies ?? [];
  // The currency picked, else the one with the most MRR (no conversion between currencies).
  const figures =
    currencies.find((item) => item.currency === picked) ??
    [...currencies].sort((a, b) => b.mrr - a.mrr || a.currency.localeCompare(b.currency))[0];
  const currency = figures?.currency ?? "";
  const scoped = { ...range, currency };
  const series = useApi<MrrSeries>(currency ? `${ANALYTICS}/mrr` : null, { ...scoped, interval });
  const points = series.data?.series.find((item) => item.currency === currency)?.data ?? [];
  const mode = summary.data ? (summary.data.livemode ? "live" : "test") : "";

  return (
    <Page
      title="Analytics"
      actions={
        <button
          type="button"
          class="button"
          disabled={summary.loading}
          onClick={() => {
            summary.reload();
            setGeneration((n) => n + 1);
          }}
        >
          Refresh
        </button>
      }
      lead={`Recurring revenue from your customers' subscriptions${mode ? `, ${mode} mode` : ""}. Days are UTC days; each currency is its own series, never converted.`}
    >
      <Card>
        <search class="filters" aria-label="Range and currency">
          <SelectField label="Range" value={preset} onValue={setPreset} options={PRESETS} />
          {preset === "custom" ? (
            <>
              <TextField label="From" type="date" required value={customFrom} onValue={setCustomFrom} />
              <TextField label="To" type="date" required value={customTo} onValue={setCustomTo} />
            </>
          ) : null}
          <SelectField label="Interval" value={interval} onValue={setInterval} options={INTERVALS} />
          {currencies.length > 1 ? (
            <SelectField
              label="Currency"
              value={currency}
              onValue={setPicked}
              options={currencies.map((item) => [item.currency, item.currency.toUpperCase()] as const)}
            />
          ) : null}
        </search>
        <ErrorMessage error={summary.error} />
        {summary.loading && !summary.data ? <Loading /> : null}
        {summary.data && !currencies.length ? (
          <Notice>
            No recurring revenue yet. MRR counts active and past-due subscriptions (not trials); it appears
            here once Stripe reports them. <a href={`${BASE}/subscriptions`}>Subscriptions</a>
          </Notice>
        ) : null}
      </Card>
      {figures ? (
        <Fragment key={generation}>
          <Card
            title={`MRR (${currency.toUpperCase()})`}
            id="mrr"
            actions={
              <CsvButton
                path={`${ANALYTICS}/mrr`}
                query={{ ...scoped, interval }}
                file="mrr.csv"
                label="Download CSV"
              />
            }
          >
            <ErrorMessage error={series.error} />
            {series.loading && !series.data ? <Loading label="Loading the chart…" /> : null}
            {series.data ? <MrrChart points={points} currency={currency} interval={interval} /> : null}
          </Card>
          <section aria-labelledby="figures-title">
            <div class="section-header">
              <h2 id="figures-title">
                {summary.data?.from} to {summary.data?.to}
              </h2>
              <CsvButton
                path={`${ANALYTICS}/summary`}
                query={scoped}
                file="analytics-summary.csv"
                label="Download CSV"
              />
            </div>
            <SummaryCards figures={figures} />
          </section>
          <PlansCard currency={currency} />
          <Movements range={scoped} />
        </Fragment>
      ) : null}
    </Page>
  );
}

type PlanRow = PlanFigures["data"][number];

const planColumns: Column<PlanRow>[] = [
  {
    label: "Plan",
    render: (row) => <a href={`${BASE}/plans/${row.plan}`}>{row.name ?? row.plan}</a>,
  },
  { label: "MRR", render: (row) => formatMoney(row.mrr, row.currency) },
  { label: "Subscribers", render: (row) => String(row.subscribers) },
];

/** MRR and subscribers by plan, now (not over the range). */
function PlansCard({ currency }: { currency: string }) {
  const plans = useApi<PlanFigures>(`${ANALYTICS}/plans`);
  const rows = (plans.data?.data ?? [])
    .filter((row) => row.currency === currency)
    .sort((a, b) => b.mrr - a.mrr);
  return (
    <Card
      title="By plan, now"
      id="by-plan"
      actions={
        <CsvButton path={`${ANALYTICS}/plans`} query={{}} file="mrr-by-plan.csv" label="Download CSV" />
      }
    >
      <ErrorMessage error={plans.error} />
      {plans.loading && !plans.data ? <Loading /> : null}
      {plans.data ? (
        <Table
          caption="MRR by plan"
          columns={planColumns}
          rows={rows}
          rowKey={(row) => `${row.plan}-${row.currency}`}
          empty="No plan has paying subscribers in this currency."
        />
      ) : null}
    </Card>
  );
}
