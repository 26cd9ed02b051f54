import { useState } from "preact/hooks";
import { announce, ErrorMessage, Notice } from "../components/feedback";
import { Form, SubmitButton, TextField } from "../components/form";
import { Card, Facts, Page } from "../components/page";
import { api, TENANTS } from "../lib/api";
import { displayName, formatDateTime } from "../lib/format";
import { useAction } from "../lib/hooks";
import { useSession } from "../lib/session";

/** The signed-in user: who they are, and a password change (which signs out their other sessions). */
export default function Account() {
  const session = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const change = useAction(() =>
    api<{ message: string }>(`${TENANTS}/change-password`, {
      body: { current_password: current, new_password: next },
    }),
  );
  if (session.status !== "signed-in") return null;
  const { user, tenant } = session;
  return (
    <Page title="Your account">
      <Card title="Profile">
        <Facts
          items={[
            ["Name", displayName(user)],
            ["Email", user.email],
            ["Role", user.role],
            ["Company", tenant.company_name],
            ["Last sign-in", formatDateTime(user.last_login_at)],
          ]}
        />
      </Card>
      <Card title="Change password">
        {done ? <Notice kind="success">{done}</Notice> : null}
        <Form
          label="Change password"
          onSubmit={async () => {
            const answer = await change.run();
            if (answer) {
              setCurrent("");
              setNext("");
              setDone(answer.message);
              announce(answer.message);
            }
          }}
        >
          <TextField
            label="Current password"
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onValue={setCurrent}
            error={change.error?.field("current_password")}
          />
          <TextField
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            hint="10 to 128 characters with letters and digits. Your other sessions are signed out."
            value={next}
            onValue={setNext}
            error={change.error?.field("new_password")}
          />
          <ErrorMessage error={change.error} />
          <SubmitButton pending={change.pending}>Change password</SubmitButton>
        </Form>
      </Card>
    </Page>
  );
}
