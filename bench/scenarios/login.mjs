// The email's local part must not occur in the password (password policy), hence "bench-owner".
const CREDENTIALS = { email: "bench-owner@example.com", password: "BenchPass12345" };

/**
 * Password login: a D1 read of the user, PBKDF2 (100k iterations) and a session insert per request.
 * Every attempt is counted before the password check and a correct one gives its count back, so
 * more than five logins of one email in flight at once would meet the throttle (429): two
 * connections keep the isolate busy without that.
 */
export default {
  name: "login",
  description:
    "`POST /api/v1/auth/tenants/login/` with valid credentials: one D1 batch, PBKDF2 (100k iterations), one D1 batch",
  // CPU-bound in one isolate: more connections only add queueing latency (and throttle answers).
  connections: 2,
  async setup({ baseUrl }) {
    const response = await fetch(new URL("/api/v1/auth/tenants/register/", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ company_name: "Bench Co", ...CREDENTIALS }),
    });
    if (response.status !== 201) {
      throw new Error(`register answered ${response.status}, expected 201: ${await response.text()}`);
    }
    return {
      method: "POST",
      path: "/api/v1/auth/tenants/login/",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(CREDENTIALS),
    };
  },
};
