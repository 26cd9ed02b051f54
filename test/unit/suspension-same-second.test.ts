// A payment failing and then succeeding in the same second: Stripe stamps both events with the
// same `created`, and they may reach us in either order (and in separate runs).
import { describe, expect, it } from "vitest";
import { applyAll, SUSPEND_AFTER_ATTEMPTS } from "../../src/modules/platform-billing/suspension";
import { BY_PAYMENT, failed, fresh, LIFTED, PD, succeeded, T, updated } from "./suspension-fixtures";

describe("an invoice outcome of the same second as the newest applied one", () => {
  const third = failed(SUSPEND_AFTER_ATTEMPTS, T, { invoiceId: "in_1" });
  const paid = succeeded(T, { invoiceId: "in_1" });

  it("the payment wins over the failure of its second, in either order", () => {
    for (const order of [
      [third, paid],
      [paid, third],
    ]) {
      const { state } = applyAll(fresh, order);
      expect(state).toMatchObject({ subscriptionStatus: "active", ...LIFTED });
    }
  });

  it("a failure of the same second as an applied payment emits nothing", () => {
    const afterPayment = applyAll(fresh, [paid]).state;
    expect(applyAll(afterPayment, [third]).effects).toEqual([]);
  });

  it("a failure after a payment of an earlier second still counts", () => {
    const { state } = applyAll(fresh, [succeeded(T - 1), third]);
    expect(state).toMatchObject({ ...PD, ...BY_PAYMENT });
  });

  it("another invoice's failure of the same second still counts (only a paid invoice cannot fail)", () => {
    const { state } = applyAll(fresh, [paid, failed(SUSPEND_AFTER_ATTEMPTS, T, { invoiceId: "in_2" })]);
    expect(state).toMatchObject({ ...PD, ...BY_PAYMENT });
  });

  it("the watermark still moves with a later snapshot of the same second", () => {
    const { state } = applyAll(fresh, [paid, updated("active", T), third]);
    expect(state).toMatchObject({ subscriptionStatus: "active", ...LIFTED });
  });
});
