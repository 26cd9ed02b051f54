import { describe, expect, it } from "vitest";
import { SUBSCRIPTION_STATES } from "../../src/db/schema";
import { CUSTOMER_MAY_FOLLOW, subscriptionMayFollow } from "../../src/modules/billing-mirror/rules";

describe("the order of a subscription's states", () => {
  it("a state may be written over itself, and canceled over any", () => {
    for (const state of SUBSCRIPTION_STATES) {
      expect(subscriptionMayFollow(state, state), state).toBe(true);
      expect(subscriptionMayFollow(state, "canceled"), state).toBe(true);
    }
  });

  it("an ended subscription never runs again", () => {
    for (const next of SUBSCRIPTION_STATES.filter((s) => s !== "canceled" && s !== "incomplete_expired")) {
      expect(subscriptionMayFollow("canceled", next), next).toBe(false);
      expect(subscriptionMayFollow("incomplete_expired", next), next).toBe(false);
    }
    expect(subscriptionMayFollow("canceled", "incomplete_expired")).toBe(false);
  });

  it("one that left incomplete never goes back to it; the live states move among each other", () => {
    const live = ["trialing", "active", "past_due", "unpaid", "paused"] as const;
    for (const stored of live) {
      expect(subscriptionMayFollow(stored, "incomplete"), stored).toBe(false);
      expect(subscriptionMayFollow(stored, "incomplete_expired"), stored).toBe(false);
      for (const next of live) expect(subscriptionMayFollow(stored, next), `${stored} → ${next}`).toBe(true);
    }
    for (const next of [...live, "incomplete_expired"] as const)
      expect(subscriptionMayFollow("incomplete", next), next).toBe(true);
  });
});

describe("the order of a customer's states", () => {
  it("a deleted customer stays deleted; any may be deleted", () => {
    expect(CUSTOMER_MAY_FOLLOW.active).toEqual(["active"]);
    expect(CUSTOMER_MAY_FOLLOW.deleted).toEqual(expect.arrayContaining(["active", "deleted"]));
  });
});
