import { connectedTenant, createCustomers, createPlan } from "../lib/api-seed.mjs";

const CUSTOMERS = 50;

/**
 * Subscription creates with a test secret key, through the Stripe double (the bench starts it
 * and points the Worker's STRIPE_API_BASE at it): per request the customer and plan reads, the
 * plan limit slot in the tenant's Durable Object, `subscriptions.create` on the connected account
 * (the double answers over loopback in this process), and the D1 mirror write with its tenant
 * event. 50 customers in rotation, each gathering subscriptions.
 */
export default {
  name: "subscription-create",
  description:
    "`POST /api/v1/auth/subscriptions/` with a secret key on a connected tenant (plan and 50 customers), through the local Stripe double",
  connections: 8,
  async seed(ctx) {
    const tenant = await connectedTenant(ctx);
    const plan = await createPlan(ctx, tenant.token);
    const customers = await createCustomers(ctx, tenant.keys.test_secret, CUSTOMERS);
    ctx.log(`tenant ${tenant.tenantId} connected, plan ${plan.id}, ${customers.length} customers`);
    return {
      key: tenant.keys.test_secret,
      plan: plan.id,
      customers: customers.map((customer) => customer.id),
    };
  },
  async setup({ seeded }) {
    let next = 0;
    return {
      requests: [
        {
          method: "POST",
          path: "/api/v1/auth/subscriptions/",
          setupRequest: (request) => ({
            ...request,
            headers: { "content-type": "application/json", "x-api-key": seeded.key },
            body: JSON.stringify({
              customer: seeded.customers[next++ % seeded.customers.length],
              plan: seeded.plan,
              quantity: 1,
            }),
          }),
        },
      ],
    };
  },
};
