import { useState } from "preact/hooks";
import { TENANT_EVENT_TYPES } from "../../../../src/modules/webhooks/event-types";
import { announce, Badge, ErrorMessage } from "../../components/feedback";
import { Form, SelectField, SubmitButton, TextArea } from "../../components/form";
import { Card, Facts } from "../../components/page";
import { api, TENANTS } from "../../lib/api";
import { useAction } from "../../lib/hooks";

interface TestAnswer {
  message: string;
  webhook_url: string;
  status_code: number;
  response_time_ms: number;
  response_body: string;
  success: boolean;
  event_sent: Record<string, unknown>;
}

const EVENT_OPTIONS = [
  ["test.webhook", "test.webhook"] as const,
  ...TENANT_EVENT_TYPES.map((type) => [type, type] as const),
];

/** Sends a signed test event now and shows the receiver's answer. */
export function TestSend() {
  const [eventType, setEventType] = useState<string>("test.webhook");
  const [data, setData] = useState("");
  const [answer, setAnswer] = useState<TestAnswer | null>(null);
  const send = useAction(() => {
    let testData: unknown;
    if (data.trim()) {
      try {
        testData = JSON.parse(data);
      } catch {
        throw new Error('Test data must be a JSON object, e.g. {"subscription_id": "sub_123"}');
      }
    }
    return api<TestAnswer>(`${TENANTS}/webhooks/test`, {
      body: { event_type: eventType, ...(testData === undefined ? {} : { test_data: testData }) },
    });
  });
  return (
    <Card title="Send a test event" id="test-send">
      <Form
        label="Send a test event"
        onSubmit={async () => {
          setAnswer(null);
          const result = await send.run();
          if (result) {
            setAnswer(result);
            announce(`Test event sent: your endpoint answered ${result.status_code}`);
          }
        }}
      >
        <SelectField label="Event type" value={eventType} onValue={setEventType} options={EVENT_OPTIONS} />
        <TextArea
          label="Test data (optional JSON object)"
          rows={3}
          value={data}
          onValue={setData}
          error={send.error?.field("test_data")}
        />
        <ErrorMessage error={send.error} title="The test event was not delivered" />
        <SubmitButton pending={send.pending}>Send test event</SubmitButton>
      </Form>
      {answer ? (
        <div class="test-answer" data-testid="test-answer">
          <h3>Your endpoint answered</h3>
          <Facts
            items={[
              [
                "Result",
                <Badge
                  key="r"
                  value={answer.success ? "delivered" : "failed"}
                  label={answer.success ? "Success" : "Failed"}
                />,
              ],
              ["HTTP status", String(answer.status_code)],
              ["Response time", `${answer.response_time_ms} ms`],
              ["URL", <code key="u">{answer.webhook_url}</code>],
            ]}
          />
          <h4>Response body</h4>
          <pre class="code-block">{answer.response_body || "(empty)"}</pre>
          <details>
            <summary>Event sent</summary>
            <pre class="code-block">{JSON.stringify(answer.event_sent, null, 2)}</pre>
          </details>
        </div>
      ) : null}
    </Card>
  );
}
