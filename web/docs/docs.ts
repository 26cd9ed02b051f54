// Starts Swagger UI (swagger-ui-dist, served from the Worker's own assets) on /openapi.json.
// A separate file, not an inline script, so the page's Content-Security-Policy needs no
// 'unsafe-inline' for scripts.
declare const SwaggerUIBundle: ((options: Record<string, unknown>) => unknown) & {
  presets: { apis: unknown };
};

const mount = document.getElementById("swagger-ui");
SwaggerUIBundle({
  url: mount?.dataset.url ?? "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // No call to the public validator service: the page talks to this Worker only.
  validatorUrl: null,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  persistAuthorization: false,
});
