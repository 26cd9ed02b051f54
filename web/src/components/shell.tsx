import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso/router";
import { TENANTS } from "../lib/api";
import { displayName, humanize } from "../lib/format";
import { useApi } from "../lib/hooks";
import { roleCan } from "../lib/permissions";
import { logout, type SessionState } from "../lib/session";
import type { TenantDetails } from "../lib/types";
import { BASE, ROUTES } from "../routes";
import { Badge, LiveRegion } from "./feedback";

type SignedIn = Extract<SessionState, { status: "signed-in" }>;

const isCurrent = (path: string, current: string) =>
  path === BASE ? current === BASE : current === path || current.startsWith(`${path}/`);

/** The signed-in layout: skip link, top bar, navigation (a menu on narrow screens), main area. */
export function Shell({ session, children }: { session: SignedIn; children: ComponentChildren }) {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const { user, tenant } = session;
  const links = ROUTES.filter((page) => page.nav && (!page.needs || roleCan(user.role, page.needs)));
  // The most specific entry wins ("Webhook deliveries" over "Webhooks").
  const current = links
    .filter((page) => isCurrent(page.path, path))
    .sort((a, b) => b.path.length - a.path.length)[0]?.path;

  useEffect(() => setMenuOpen(false), [path]);

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <button
          type="button"
          class="menu-button"
          aria-expanded={menuOpen}
          aria-controls="site-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <a class="brand" href={BASE}>
          Edge Billing
        </a>
        <span class="tenant-name" title={tenant.company_name}>
          {tenant.company_name}
        </span>
        <div class="user-box">
          <span class="user-name">
            {displayName(user)} <Badge value="role" label={user.role} />
          </span>
          <button
            type="button"
            class="button button-small"
            disabled={signingOut}
            onClick={() => {
              setSigningOut(true);
              void logout().finally(() => setSigningOut(false));
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <nav id="site-nav" class={`sidebar${menuOpen ? " open" : ""}`} aria-label="Dashboard">
        <ul>
          {links.map((page) => (
            <li key={page.path}>
              <a href={page.path} aria-current={page.path === current ? "page" : undefined}>
                {page.nav}
              </a>
            </li>
          ))}
          <li>
            <a href="/docs" target="_blank" rel="noopener">
              API reference <span class="visually-hidden">(opens in a new tab)</span>
            </a>
          </li>
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {tenant.status === "suspended" ? (
          <SuspendedBanner canFix={roleCan(user.role, "billing.manage")} />
        ) : null}
        {children}
      </main>
      <LiveRegion />
    </div>
  );
}

function SuspendedBanner({ canFix }: { canFix: boolean }) {
  const details = useApi<TenantDetails>(`${TENANTS}/details`);
  return (
    <section class="banner banner-suspended" aria-labelledby="suspended-title" data-testid="suspended-banner">
      <h2 id="suspended-title">Your account is suspended</h2>
      <p>
        {details.data?.suspended_reason ? <>Reason: {humanize(details.data.suspended_reason)}. </> : null}
        Your API keys answer <code>402 tenant_suspended</code>. You can still sign in, read everything and
        rotate keys; other changes are paused until billing is fixed.
      </p>
      <p>
        {canFix ? (
          <a class="button button-primary" href={`${BASE}/billing`}>
            Fix billing
          </a>
        ) : (
          "Ask an owner of your company to fix billing."
        )}
      </p>
    </section>
  );
}
