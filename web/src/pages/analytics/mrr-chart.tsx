// The MRR chart: uPlot (canvas, built for time series) draws the MRR line over the period's
// movement bars, new, expansion and reactivation up, contraction and churn down. Only this lazy
// chunk imports uPlot. The same figures are in a table below the canvas for screen readers and
// keyboard users; the hover readout is for pointers.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { type Column, Table } from "../../components/table";
import type { AnalyticsInterval, MrrPoint } from "../../lib/billing-types";
import { formatDate, formatMoney } from "../../lib/format";

const DAY = 86_400;
const BUCKET_SECONDS: Record<AnalyticsInterval, number> = { day: DAY, week: 7 * DAY, month: 30 * DAY };

/** The movement colours, shared by the bars, the legend and the table. */
export const COLOURS = {
  mrr: "#2f4bd0",
  new: "#1a7f37",
  expansion: "#4ac26b",
  reactivation: "#0a8a8a",
  contraction: "#d4a72c",
  churn: "#b42318",
} as const;

const LEGEND: [keyof typeof COLOURS, string][] = [
  ["mrr", "MRR (line)"],
  ["new", "New"],
  ["expansion", "Expansion"],
  ["reactivation", "Reactivation"],
  ["contraction", "Contraction"],
  ["churn", "Churn"],
];

/** `1234567, "usd"` → `$12K`: short labels for the axes. */
function compactMoney(minor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat(undefined, {
      style: "currency",
      currency: currency.toUpperCase(),
      notation: "compact",
      maximumFractionDigits: 1,
    });
    const digits =
      new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency.toUpperCase(),
      }).resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minor / 10 ** digits);
  } catch {
    return String(minor);
  }
}

const seconds = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** uPlot's aligned columns: x, then the stacked bars (largest first, so smaller ones paint over), then MRR. */
function columns(points: MrrPoint[]): uPlot.AlignedData {
  return [
    points.map((p) => seconds(p.period_start)),
    points.map((p) => p.new + p.expansion + p.reactivation),
    points.map((p) => p.new + p.expansion),
    points.map((p) => p.new),
    points.map((p) => -(p.contraction + p.churn)),
    points.map((p) => -p.contraction),
    points.map((p) => p.mrr),
  ];
}

function options(
  currency: string,
  interval: AnalyticsInterval,
  width: number,
  onHover: (index: number | null) => void,
): uPlot.Options {
  const half = BUCKET_SECONDS[interval] / 2;
  const bars = uPlot.paths.bars?.({ size: [0.7, 48] });
  const bar = (label: string, colour: string): uPlot.Series => ({
    label,
    scale: "flow",
    fill: colour,
    stroke: colour,
    width: 0,
    paths: bars,
    points: { show: false },
  });
  const money = (_u: uPlot, values: number[]) => values.map((value) => compactMoney(value, currency));
  return {
    width,
    height: width < 500 ? 220 : 300,
    legend: { show: false },
    // The days are UTC days, as the API counts them.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: true, range: (_u, min, max) => [min - half, max + half] },
      mrr: { range: (_u, _min, max) => [0, Math.max(100, (max ?? 0) * 1.15)] },
      flow: {
        range: (_u, min, max) => {
          const low = Math.min(0, min ?? 0);
          const high = Math.max(0, max ?? 0);
          if (low === high) return [-100, 100];
          const pad = (high - low) * 0.15;
          return [low < 0 ? low - pad : 0, high > 0 ? high + pad : 0];
        },
      },
    },
    axes: [
      { stroke: "#57606a", grid: { stroke: "#eaeef2" } },
      { scale: "mrr", stroke: "#57606a", values: money, size: 64, grid: { stroke: "#eaeef2" } },
      { scale: "flow", side: 1, stroke: "#57606a", values: money, size: 64, grid: { show: false } },
    ],
    series: [
      {},
      bar("Reactivation", COLOURS.reactivation),
      bar("Expansion", COLOURS.expansion),
      bar("New", COLOURS.new),
      bar("Churn", COLOURS.churn),
      bar("Contraction", COLOURS.contraction),
      { label: "MRR", scale: "mrr", stroke: COLOURS.mrr, width: 2, points: { show: true, size: 6 } },
    ],
    hooks: { setCursor: [(u) => onHover(u.cursor.idx ?? null)] },
  };
}

const signed = (minor: number, currency: string, sign: "+" | "−") =>
  minor ? `${sign}${formatMoney(minor, currency)}` : formatMoney(0, currency);

function tableColumns(currency: string): Column<MrrPoint>[] {
  return [
    { label: "Period from", render: (p) => formatDate(`${p.period_start}T00:00:00Z`) },
    { label: "MRR", render: (p) => formatMoney(p.mrr, currency) },
    { label: "New", render: (p) => signed(p.new, currency, "+") },
    { label: "Expansion", render: (p) => signed(p.expansion, currency, "+") },
    { label: "Reactivation", render: (p) => signed(p.reactivation, currency, "+") },
    { label: "Contraction", render: (p) => signed(p.contraction, currency, "−") },
    { label: "Churn", render: (p) => signed(p.churn, currency, "−") },
    { label: "Subscribers", render: (p) => String(p.subscribers) },
  ];
}

export function MrrChart({
  points,
  currency,
  interval,
}: {
  points: MrrPoint[];
  currency: string;
  interval: AnalyticsInterval;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<number | null>(null);

  useEffect(() => {
    const target = box.current;
    if (!target || !points.length) return;
    const width = () => Math.max(280, target.clientWidth);
    const chart = new uPlot(options(currency, interval, width(), setHover), columns(points), target);
    const observer = new ResizeObserver(() => {
      const next = width();
      if (next !== chart.width) chart.setSize({ width: next, height: next < 500 ? 220 : 300 });
    });
    observer.observe(target);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [points, currency, interval]);

  if (!points.length) return <p class="empty">No figures in this range.</p>;
  const first = points[0];
  const last = points.at(-1);
  const point = hover === null ? null : points[hover];
  const summary =
    first && last
      ? `MRR in ${currency.toUpperCase()} from ${formatDate(`${first.period_start}T00:00:00Z`)}: ${formatMoney(first.mrr, currency)} to ${formatMoney(last.mrr, currency)}, with the movements of each ${interval}. The figures are in the table below.`
      : "";
  return (
    <figure class="chart" data-testid="mrr-chart">
      <ul class="chart-legend" aria-hidden="true">
        {LEGEND.map(([key, label]) => (
          <li key={key}>
            <span class={`swatch swatch-${key}`} />
            {label}
          </li>
        ))}
      </ul>
      <div class="chart-canvas" ref={box} role="img" aria-label={summary} />
      <p class="chart-readout" aria-hidden="true">
        {point
          ? `${formatDate(`${point.period_start}T00:00:00Z`)}: MRR ${formatMoney(point.mrr, currency)}, net ${point.net_change >= 0 ? "+" : "−"}${formatMoney(Math.abs(point.net_change), currency)}`
          : "Point at the chart for a period's figures."}
      </p>
      <figcaption>
        <details>
          <summary>The chart's figures as a table</summary>
          <Table
            caption={`MRR and movements per ${interval}`}
            columns={tableColumns(currency)}
            rows={points}
            rowKey={(p) => p.period_start}
            empty="No figures."
          />
        </details>
      </figcaption>
    </figure>
  );
}
