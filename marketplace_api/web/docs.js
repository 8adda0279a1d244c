// Swagger UI at /docs, from the app's own copy (vendor/, swagger-ui-dist 5.35.0): no CDN and no
// inline script, so the docs page runs under a Content-Security-Policy of 'self' like the app's.
window.ui = globalThis.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [globalThis.SwaggerUIBundle.presets.apis, globalThis.SwaggerUIBundle.SwaggerUIStandalonePreset],
});
