// The invoice's hosted page and PDF (`hosted_invoice_url`, `invoice_pdf`). `?pay=1[&card=pm_card_...]`
// on the page pays an open invoice with a test card, as a customer would.

import { money } from "./format.ts";
import { collect } from "./invoice-collect.ts";
import { esc, page, pageCtx } from "./pages.ts";
import { attachPaymentMethod, TEST_CARDS } from "./payments.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { enterCustomerTime } from "./test-clocks.ts";

function hosted(ctx: Ctx): Reply {
  const stored = ctx.state.objects.get(ctx.match[0] ?? "");
  if (stored?.kind !== "invoice" || stored.obj.status === "draft") return page(404, "Unknown invoice", "");
  const c = pageCtx(ctx, stored);
  const invoice = stored.obj;
  let message = "";
  if (c.query.pay === "1" && (invoice.status === "open" || invoice.status === "uncollectible")) {
    const card = typeof c.query.card === "string" ? c.query.card : "pm_card_visa";
    if (!TEST_CARDS[card]) return page(400, "Unknown test card", `<p>${esc(card)}</p>`);
    enterCustomerTime(c, invoice.customer);
    try {
      const pm = attachPaymentMethod(c, card, invoice.customer as string, true, "payment_method");
      const outcome = collect(c, invoice, pm.id as string);
      message = `<p>Payment ${esc(outcome?.status ?? "not attempted")}.</p>`;
    } catch {
      message = "<p>Your card was declined.</p>";
    }
  }
  const body = `${message}<p>Invoice ${esc(invoice.number)}: ${esc(money(Number(invoice.amount_due), invoice.currency))} — ${esc(invoice.status)}</p>`;
  return page(invoice.status === "paid" || !message ? 200 : 402, `Invoice ${String(invoice.number)}`, body);
}

function pdf(ctx: Ctx): Reply {
  const stored = ctx.state.objects.get(ctx.match[0] ?? "");
  if (stored?.kind !== "invoice" || stored.obj.status === "draft") return page(404, "Unknown invoice", "");
  const inv = stored.obj;
  const text = `Invoice ${String(inv.number)} ${money(Number(inv.total), inv.currency)} ${String(inv.status)}`;
  const body = `%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]/Contents 4 0 R>>endobj 4 0 obj<</Length ${text.length + 30}>>stream\nBT /F1 10 Tf 10 50 Td (${text.replace(/[()\\]/g, "")}) Tj ET\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n`;
  return { status: 200, body, headers: { "content-type": "application/pdf" } };
}

export const invoicePageRoutes: Route[] = [
  route("GET", "/invoice/:id", hosted, "browser"),
  route("GET", "/invoice/:id/pdf", pdf, "browser"),
];
