// InvoicePayments (`inpay_...`): the link between an invoice and the PaymentIntent collecting it,
// `open` until the intent succeeds (`paid`, with `amount_paid`) or the invoice is voided or paid
// out of band (`canceled`). Also listed in `invoice.payments` (expand it).
import { allowList, listReply, obj, reply, str } from "./params.ts";
import { type Ctx, type Reply, type Route, route } from "./router.ts";
import { all, mustFind } from "./state.ts";

function list(ctx: Ctx): Reply {
  allowList(ctx, ["invoice", "payment", "status", "created"]);
  const invoice = str(ctx.params, "invoice");
  const status = str(ctx.params, "status");
  const payment = obj(ctx.params, "payment");
  const pi = payment ? str(payment, "payment_intent", "payment[payment_intent]") : undefined;
  const type = payment ? str(payment, "type", "payment[type]") : undefined;
  const items = all(ctx.state, "invoice_payment", ctx.scope)
    .map((s) => s.obj)
    .filter((o) => {
      const link = o.payment as { payment_intent?: string; type: string };
      return (
        (!invoice || o.invoice === invoice) &&
        (!status || o.status === status) &&
        (!pi || link.payment_intent === pi) &&
        (!type || link.type === type)
      );
    });
  return listReply(ctx, items, "/v1/invoice_payments");
}

export const invoicePaymentRoutes: Route[] = [
  route("GET", "/v1/invoice_payments", list),
  route("GET", "/v1/invoice_payments/:id", (ctx) =>
    reply(ctx, mustFind(ctx.state, "invoice_payment", ctx.match[0] ?? "", ctx.scope, "invoice payment").obj),
  ),
];
