import { useState } from "preact/hooks";
import { Card, Page } from "../components/page";
import { CopyButton, OnceWarning, SecretReveal } from "../components/secret";
import { byKeyOrder, isSecretType, keyLabel } from "../lib/keys";
import { takeWelcomeKeys } from "../lib/welcome";
import { BASE } from "../routes";

/** Right after registering: the four API keys in full, this once. */
export function Welcome() {
  const [keys] = useState(takeWelcomeKeys);
  if (!keys) {
    return (
      <Page title="Welcome">
        <p>
          Your API keys were shown once, right after you registered. Secret keys cannot be shown again:
          regenerate them on the <a href={`${BASE}/api-keys`}>API keys</a> page if you did not save them.
        </p>
      </Page>
    );
  }
  const types = Object.keys(keys).sort(byKeyOrder);
  return (
    <Page title="Welcome to Edge Billing" lead="Your company is registered. Here are its four API keys.">
      <Card title="Your API keys">
        <OnceWarning what="secret keys" />
        <ul class="plain-list">
          {types.map((type) => (
            <li key={type}>
              {isSecretType(type) ? (
                <SecretReveal label={keyLabel(type)} value={keys[type] ?? ""} />
              ) : (
                <div class="secret">
                  <span class="secret-label">{keyLabel(type)}</span>
                  <code class="secret-value">{keys[type]}</code>
                  <CopyButton value={keys[type] ?? ""} />
                </div>
              )}
            </li>
          ))}
        </ul>
        <p>
          Publishable keys (<code>pk_…</code>) are safe in a browser and read only public plans; secret keys (
          <code>sk_…</code>) belong on your servers.
        </p>
        <p>
          <a class="button button-primary" href={BASE}>
            I saved my keys — continue
          </a>
        </p>
      </Card>
    </Page>
  );
}
