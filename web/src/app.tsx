import { useEffect } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso/router";
import { Page } from "./components/page";
import { Shell } from "./components/shell";
import { roleCan } from "./lib/permissions";
import { restore, type SessionState, useSession } from "./lib/session";
import { hasWelcomeKeys } from "./lib/welcome";
import { AcceptInvitation, SignIn, SignUp } from "./pages/public";
import { Welcome } from "./pages/welcome";
import { BASE, ROUTES } from "./routes";

const PUBLIC_PATHS = [`${BASE}/login`, `${BASE}/register`, `${BASE}/setup`];

export function App() {
  const session = useSession();
  return (
    <LocationProvider scope={BASE}>
      <Root session={session} />
    </LocationProvider>
  );
}

/** Navigates once rendering is done (redirects between the public and signed-in areas). */
function Redirect({ to }: { to: string }) {
  const { route } = useLocation();
  useEffect(() => route(to, true), [to, route]);
  return null;
}

function Root({ session }: { session: SessionState }) {
  const { path, url, query } = useLocation();
  const isPublic = PUBLIC_PATHS.includes(path);

  if (session.status === "loading") {
    return (
      <p class="boot" role="status">
        Loading the dashboard…
      </p>
    );
  }
  if (session.status === "offline") {
    return (
      <main class="auth-page">
        <div class="auth-card">
          <h1>The dashboard cannot reach the API</h1>
          <p class="alert alert-error" role="alert">
            {session.message}
          </p>
          <button type="button" class="button button-primary" onClick={() => void restore()}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (session.status === "signed-out") {
    if (!isPublic) {
      const next = path === BASE ? "" : `?next=${encodeURIComponent(url)}`;
      return <Redirect to={`${BASE}/login${next}`} />;
    }
    return (
      <Router>
        <Route path={`${BASE}/login`} component={SignIn} notice={session.notice} />
        <Route path={`${BASE}/register`} component={SignUp} />
        <Route path={`${BASE}/setup`} component={AcceptInvitation} />
      </Router>
    );
  }
  if (isPublic) {
    const next = query.next?.startsWith(`${BASE}`) ? query.next : BASE;
    return <Redirect to={hasWelcomeKeys() ? `${BASE}/welcome` : next} />;
  }

  const role = session.user.role;
  return (
    <Shell session={session}>
      <Router>
        {[
          ...ROUTES.map((page) => (
            <Route
              key={page.path}
              path={page.path}
              component={!page.needs || roleCan(role, page.needs) ? page.component : NotForYourRole}
            />
          )),
          <Route key="welcome" path={`${BASE}/welcome`} component={Welcome} />,
          <Route key="404" default component={NotFound} />,
        ]}
      </Router>
    </Shell>
  );
}

function NotForYourRole() {
  return (
    <Page title="Not available to your role">
      <p>Your role cannot open this page. An owner of your company can change your role on the Team page.</p>
      <p>
        <a href={BASE}>Back to the overview</a>
      </p>
    </Page>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no dashboard page at this address.</p>
      <p>
        <a href={BASE}>Back to the overview</a>
      </p>
    </Page>
  );
}
