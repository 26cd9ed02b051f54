import { render } from "preact";
import { App } from "./app";
import { restore } from "./lib/session";

const root = document.getElementById("app");
if (root) {
  render(<App />, root);
  void restore();
}
