import { expect, it } from "vitest";
import { call } from "./harness";

// The whole document is kept in git: any change to the HTTP contract shows in `git diff`.
it("the OpenAPI document matches the committed one", async () => {
  const doc = await call("/openapi.json");
  expect(doc.status).toBe(200);
  await expect(`${JSON.stringify(doc.body, null, 2)}\n`).toMatchFileSnapshot("./openapi.snapshot.json");
});
