import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorMessage, Notice } from "../components/feedback";
import { Form, fieldError, SubmitButton, TextField } from "../components/form";
import { useAction } from "../lib/hooks";
import { acceptInvitation, login, register } from "../lib/session";
import { BASE } from "../routes";

function AuthPage({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Edge Billing`;
  }, [title]);
  return (
    <main class="auth-page" id="main">
      <div class="auth-card">
        <p class="brand">Edge Billing</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

const PASSWORD_HINT = "10 to 128 characters with letters and digits, not your email's name.";

export function SignIn({ notice }: { notice?: string }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction(() => login(email.trim(), password));
  return (
    <AuthPage title="Sign in">
      {notice ? <Notice>{notice}</Notice> : null}
      <Form onSubmit={() => void action.run()} label="Sign in">
        <TextField
          label="Email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onValue={setEmail}
          error={fieldError(action.error, "email")}
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton pending={action.pending}>Sign in</SubmitButton>
      </Form>
      <p>
        New here? <a href={`${BASE}/register`}>Register your company</a>
      </p>
    </AuthPage>
  );
}

export function SignUp() {
  const [form, setForm] = useState({
    company_name: "",
    email: "",
    password: "",
    domain: "",
    first_name: "",
    last_name: "",
  });
  const set = (key: keyof typeof form) => (value: string) => setForm({ ...form, [key]: value });
  const action = useAction(() =>
    register({
      company_name: form.company_name.trim(),
      email: form.email.trim(),
      password: form.password,
      ...(form.domain.trim() ? { domain: form.domain.trim() } : {}),
      ...(form.first_name.trim() ? { first_name: form.first_name.trim() } : {}),
      ...(form.last_name.trim() ? { last_name: form.last_name.trim() } : {}),
    }),
  );
  const error = (field: string) => fieldError(action.error, field);
  return (
    <AuthPage title="Register your company">
      <Form onSubmit={() => void action.run()} label="Register">
        <TextField
          label="Company name"
          required
          autoComplete="organization"
          value={form.company_name}
          onValue={set("company_name")}
          error={error("company_name")}
        />
        <TextField
          label="Work email"
          type="email"
          required
          autoComplete="email"
          value={form.email}
          onValue={set("email")}
          error={error("email")}
        />
        <TextField
          label="Password"
          type="password"
          required
          autoComplete="new-password"
          hint={PASSWORD_HINT}
          value={form.password}
          onValue={set("password")}
          error={error("password")}
        />
        <TextField
          label="Company domain (optional)"
          placeholder="mysaas.com"
          value={form.domain}
          onValue={set("domain")}
          error={error("domain")}
        />
        <div class="field-row">
          <TextField
            label="First name (optional)"
            autoComplete="given-name"
            value={form.first_name}
            onValue={set("first_name")}
          />
          <TextField
            label="Last name (optional)"
            autoComplete="family-name"
            value={form.last_name}
            onValue={set("last_name")}
          />
        </div>
        <ErrorMessage error={action.error} />
        <SubmitButton pending={action.pending}>Register</SubmitButton>
      </Form>
      <p>
        Already registered? <a href={`${BASE}/login`}>Sign in</a>
      </p>
    </AuthPage>
  );
}

/** `/dashboard/setup#token=ust_...`: the invitation link a new user got from an owner. */
export function AcceptInvitation() {
  // The token travels in the fragment, which browsers never send to a server or a Referer.
  const [token, setToken] = useState(() => new URLSearchParams(location.hash.slice(1)).get("token") ?? "");
  const [password, setPassword] = useState("");
  const action = useAction(() => acceptInvitation(token.trim(), password));
  return (
    <AuthPage title="Accept your invitation">
      <p>Choose a password to finish setting up your account.</p>
      <Form onSubmit={() => void action.run()} label="Accept invitation">
        <TextField
          label="Invitation code"
          required
          autoComplete="off"
          value={token}
          onValue={setToken}
          hint="The ust_… code from your invitation link."
          error={fieldError(action.error, "token")}
        />
        <TextField
          label="New password"
          type="password"
          required
          autoComplete="new-password"
          hint={PASSWORD_HINT}
          value={password}
          onValue={setPassword}
          error={fieldError(action.error, "password")}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton pending={action.pending}>Set password and sign in</SubmitButton>
      </Form>
    </AuthPage>
  );
}
