import { useEffect, useState } from "preact/hooks";
import { ActionDialog } from "../components/dialog";
import { announce, Badge, ErrorMessage, Loading } from "../components/feedback";
import { Checkbox, SelectField, TextField } from "../components/form";
import { Card, Page } from "../components/page";
import { SecretReveal } from "../components/secret";
import { type Column, Table } from "../components/table";
import { api, TENANTS } from "../lib/api";
import { displayName, formatDateTime } from "../lib/format";
import { useAction, useApi } from "../lib/hooks";
import { useCan } from "../lib/permissions";
import { getSession, reloadIdentity } from "../lib/session";
import { ROLES, type Role, type User } from "../lib/types";
import { BASE } from "../routes";

const USERS = `${TENANTS}/users`;
const ROLE_OPTIONS = ROLES.map((role) => [role, role.charAt(0).toUpperCase() + role.slice(1)] as const);
const ROLE_HELP: Record<Role, string> = {
  owner: "everything, including users, Stripe Connect and the platform plan",
  admin: "API keys, plans and webhooks",
  developer: "reads everything, sees API keys (masked)",
  billing: "reads plans, billing and webhooks; no API keys",
};

interface Invited {
  message: string;
  user: User;
  setup_token: string | null;
  setup_token_expires_at: string | null;
}

/** The tenant's users and roles; an owner invites, changes roles and removes users. */
export default function Team() {
  const list = useApi<{ users: User[]; count: number }>(USERS);
  const can = useCan();
  const [inviting, setInviting] = useState(false);
  const [invited, setInvited] = useState<Invited | null>(null);
  const [changing, setChanging] = useState<User | null>(null);
  const [removing, setRemoving] = useState<User | null>(null);
  const manage = can("team.manage");
  const me = getSession();
  const myId = me.status === "signed-in" ? me.user.id : "";

  const columns: Column<User>[] = [
    { label: "Name", render: (user) => `${displayName(user)}${user.id === myId ? " (you)" : ""}` },
    { label: "Email", render: (user) => user.email },
    { label: "Role", render: (user) => <Badge value="role" label={user.role} /> },
    {
      label: "Status",
      render: (user) => (
        <Badge
          value={user.has_password ? "active" : "pending"}
          label={user.has_password ? "active" : "invited"}
        />
      ),
    },
    { label: "Last sign-in", render: (user) => formatDateTime(user.last_login_at) },
  ];
  if (manage) {
    columns.push({
      label: "Actions",
      hiddenLabel: true,
      render: (user) => (
        <div class="row-actions">
          <button
            type="button"
            class="button button-small"
            aria-label={`Change the role of ${user.email}`}
            onClick={() => setChanging(user)}
          >
            Change role
          </button>
          <button
            type="button"
            class="button button-small button-danger"
            aria-label={`Remove ${user.email}`}
            onClick={() => setRemoving(user)}
          >
            Remove
          </button>
        </div>
      ),
    });
  }

  return (
    <Page
      title="Team"
      lead="Who can use this dashboard, and what each role may do."
      actions={
        manage ? (
          <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
            Invite a user
          </button>
        ) : null
      }
    >
      {invited?.setup_token ? (
        <Card title={`Invitation for ${invited.user.email}`}>
          <p>
            Send this link to {invited.user.email}; it works once, until{" "}
            {formatDateTime(invited.setup_token_expires_at)}. It is not shown again.
          </p>
          <SecretReveal
            label="Invitation link"
            value={`${location.origin}${BASE}/setup#token=${invited.setup_token}`}
          />
          <button type="button" class="button" onClick={() => setInvited(null)}>
            Done
          </button>
        </Card>
      ) : null}
      <Card>
        <ErrorMessage error={list.error} />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data ? (
          <Table
            caption="Users"
            columns={columns}
            rows={list.data.users}
            rowKey={(user) => user.id}
            empty="No users."
          />
        ) : null}
      </Card>
      <Card title="Roles">
        <ul class="plain-list">
          {ROLES.map((role) => (
            <li key={role}>
              <strong>{role}</strong>: {ROLE_HELP[role]}
            </li>
          ))}
        </ul>
      </Card>
      <InviteDialog
        open={inviting}
        onClose={() => setInviting(false)}
        onDone={(answer) => {
          setInviting(false);
          setInvited(answer);
          announce(answer.message);
          list.reload();
        }}
      />
      <RoleDialog
        user={changing}
        onClose={() => setChanging(null)}
        onDone={(user) => {
          setChanging(null);
          announce(`${user.email} is now ${user.role}`);
          list.reload();
          if (user.id === myId) void reloadIdentity();
        }}
      />
      <RemoveDialog
        user={removing}
        onClose={() => setRemoving(null)}
        onDone={() => {
          announce(`${removing?.email ?? "User"} removed`);
          setRemoving(null);
          list.reload();
        }}
      />
    </Page>
  );
}

function InviteDialog({
  open,
  onClose,
  onDone,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (answer: Invited) => void;
}) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("developer");
  const [withPassword, setWithPassword] = useState(false);
  const [password, setPassword] = useState("");
  useEffect(() => {
    if (open) {
      setEmail("");
      setPassword("");
    }
  }, [open]);
  const action = useAction(() =>
    api<Invited>(USERS, { body: { email: email.trim(), role, ...(withPassword ? { password } : {}) } }),
  );
  return (
    <ActionDialog
      open={open}
      title="Invite a user"
      message="Without a password, you get a one-time invitation link to send them."
      confirmLabel="Invite"
      action={action}
      onClose={onClose}
      onDone={onDone}
    >
      <TextField
        label="Email"
        type="email"
        required
        value={email}
        onValue={setEmail}
        error={action.error?.field("email")}
      />
      <SelectField
        label="Role"
        value={role}
        onValue={setRole}
        options={ROLE_OPTIONS}
        hint={ROLE_HELP[role]}
      />
      <Checkbox label="Set their first password myself" checked={withPassword} onChecked={setWithPassword} />
      {withPassword ? (
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onValue={setPassword}
          error={action.error?.field("password")}
        />
      ) : null}
    </ActionDialog>
  );
}

function RoleDialog({
  user,
  onClose,
  onDone,
}: {
  user: User | null;
  onClose: () => void;
  onDone: (user: User) => void;
}) {
  const [role, setRole] = useState<Role>("developer");
  useEffect(() => {
    if (user) setRole(user.role);
  }, [user]);
  const action = useAction(() =>
    api<{ user: User }>(`${USERS}/${user?.id}`, { method: "PATCH", body: { role } }),
  );
  return (
    <ActionDialog
      open={user !== null}
      title={`Change the role of ${user?.email ?? ""}`}
      message="The new role applies on their next request."
      confirmLabel="Change role"
      action={action}
      onClose={onClose}
      onDone={(answer) => onDone(answer.user)}
    >
      <SelectField
        label="Role"
        value={role}
        onValue={setRole}
        options={ROLE_OPTIONS}
        hint={ROLE_HELP[role]}
      />
    </ActionDialog>
  );
}

function RemoveDialog({
  user,
  onClose,
  onDone,
}: {
  user: User | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const action = useAction(() => api<{ message: string }>(`${USERS}/${user?.id}`, { method: "DELETE" }));
  return (
    <ActionDialog
      open={user !== null}
      title={`Remove ${user?.email ?? "user"}`}
      message="They are signed out everywhere and can no longer sign in."
      confirmLabel="Remove"
      danger
      action={action}
      onClose={onClose}
      onDone={() => onDone()}
    />
  );
}
