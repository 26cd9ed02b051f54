import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the bindings of wrangler.toml (local D1, KV, Queues, Durable
// Objects). Secrets get test-only values here; migrations are applied by test/setup.ts; Stripe is
// the local double started by test/global-setup.ts.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            STRIPE_API_BASE: inject("stripeDoubleUrl"),
            // The same double under another host name: OAuth calls must go to STRIPE_CONNECT_BASE.
            STRIPE_CONNECT_BASE: inject("stripeDoubleUrl").replace("127.0.0.1", "localhost"),
            TEST_RECEIVER_URL: inject("receiverUrl"),
            // Receivers in tests are on 127.0.0.1; every other private address stays refused.
            WEBHOOK_ALLOW_INSECURE_URLS: "true",
            // An Idempotency-Key's lock of 3 s (60 in production), so a test can outlast it.
            IDEMPOTENCY_LOCK_SECONDS: "3",
            TEST_MIGRATIONS: migrations,
            JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789",
            PLATFORM_ADMIN_TOKEN: "test-platform-admin-token",
            STRIPE_WEBHOOK_SECRET: "whsec_test_platform",
            STRIPE_CONNECT_WEBHOOK_SECRET: "whsec_test_connect",
            STRIPE_CONNECT_CLIENT_ID: "ca_test_client",
          },
        },
      })),
    ],
    test: {
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
    },
  };
});
