#!/usr/bin/env node
// `npm run build:web`: builds the dashboard (web/) and the offline API reference into
// dist/assets, the directory wrangler.toml's [assets] serves. Nothing here is part of the Worker
// bundle. Every script, stylesheet and font comes from this directory at run time: no CDN.
//
//   dist/assets/dashboard/index.html            the SPA shell (the Worker serves it for /dashboard/*)
//   dist/assets/dashboard/assets/*.{js,css}     content-hashed, served directly by the asset server
//   dist/assets/docs/index.html                 the /docs page (the Worker serves it for /docs)
//   dist/assets/docs/assets/*                   Swagger UI from npm (swagger-ui-dist) + its initializer
//
// Prints the gzip size of the dashboard's first-load script and fails above the budget.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist", "assets");
const web = path.join(root, "web");
/** First-load script budget (gzip). The issue asks for "well under 200 KB". */
const FIRST_LOAD_BUDGET = 100 * 1024;
const quiet = process.argv.includes("--quiet");

const hash = (buffer) => createHash("sha256").update(buffer).digest("hex").slice(0, 10);
const gz = (buffer) => gzipSync(buffer, { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

function page(template, replacements) {
  let html = readFileSync(template, "utf8");
  for (const [key, value] of Object.entries(replacements)) html = html.replaceAll(`{{${key}}}`, value);
  return html;
}

async function buildDashboard() {
  const dir = path.join(out, "dashboard");
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: "web/src/main.tsx", style: "web/src/styles/app.css" },
    outdir: path.join(dir, "assets"),
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = outputs.find(([, meta]) => meta.entryPoint === "web/src/main.tsx");
  const css = outputs.find(([file]) => file.endsWith(".css"));
  if (!entry || !css) throw new Error("esbuild produced no entry script or stylesheet");
  const url = (file) => `/${path.relative(out, path.join(root, file)).split(path.sep).join("/")}`;

  // The first load: the entry and every chunk it imports statically (route pages are lazy).
  const firstLoad = new Set();
  const visit = (file) => {
    if (firstLoad.has(file)) return;
    firstLoad.add(file);
    for (const imported of result.metafile.outputs[file]?.imports ?? [])
      if (imported.kind === "import-statement") visit(imported.path);
  };
  visit(entry[0]);
  const preload = [...firstLoad]
    .filter((file) => file !== entry[0])
    .map((file) => `<link rel="modulepreload" href="${url(file)}">`)
    .join("\n    ");
  writeFileSync(
    path.join(dir, "index.html"),
    page(path.join(web, "index.html"), { SCRIPT: url(entry[0]), STYLE: url(css[0]), PRELOAD: preload }),
  );

  const size = (file) => gz(readFileSync(path.join(root, file)));
  const firstLoadGzip = [...firstLoad].reduce((sum, file) => sum + size(file), 0);
  const lazy = outputs.filter(([file]) => file.endsWith(".js") && !firstLoad.has(file));
  const largestRoute = Math.max(0, ...lazy.map(([file]) => size(file)));
  return { firstLoadGzip, cssGzip: size(css[0]), largestRoute, chunks: lazy.length };
}

async function buildDocs() {
  const dir = path.join(out, "docs");
  const assets = path.join(dir, "assets");
  mkdirSync(assets, { recursive: true });
  const swagger = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const copyHashed = (file) => {
    const source = path.join(swagger, file);
    const content = readFileSync(source);
    const ext = path.extname(file);
    const name = `${path.basename(file, ext)}-${hash(content)}${ext}`;
    copyFileSync(source, path.join(assets, name));
    return { url: `/docs/assets/${name}`, gzip: gz(content) };
  };
  const bundle = copyHashed("swagger-ui-bundle.js");
  const css = copyHashed("swagger-ui.css");
  const init = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["web/docs/docs.ts"],
    write: false,
    bundle: true,
    format: "iife",
    minify: true,
    target: "es2022",
  });
  const initCode = init.outputFiles[0].contents;
  const initName = `docs-${hash(initCode)}.js`;
  writeFileSync(path.join(assets, initName), initCode);
  writeFileSync(
    path.join(dir, "index.html"),
    page(path.join(web, "docs", "index.html"), {
      BUNDLE: bundle.url,
      STYLE: css.url,
      INIT: `/docs/assets/${initName}`,
      LOCAL_STYLE: `/docs/assets/${copyDocsStyle(assets)}`,
    }),
  );
  return { bundleGzip: bundle.gzip, cssGzip: css.gzip };
}

function copyDocsStyle(assets) {
  const content = readFileSync(path.join(web, "docs", "docs.css"));
  const name = `docs-${hash(content)}.css`;
  writeFileSync(path.join(assets, name), content);
  return name;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// Cloudflare's asset server reads _headers: hashed files never change, so browsers keep them.
writeFileSync(
  path.join(out, "_headers"),
  [
    "/dashboard/assets/*",
    "  Cache-Control: public, max-age=31536000, immutable",
    "  X-Content-Type-Options: nosniff",
    "/docs/assets/*",
    "  Cache-Control: public, max-age=31536000, immutable",
    "  X-Content-Type-Options: nosniff",
    "",
  ].join("\n"),
);
const [dashboard, docs] = await Promise.all([buildDashboard(), buildDocs()]);
if (!quiet) {
  console.log(
    `dashboard: first-load script ${kb(dashboard.firstLoadGzip)} gzip (budget ${kb(FIRST_LOAD_BUDGET)}), ` +
      `stylesheet ${kb(dashboard.cssGzip)}, ${dashboard.chunks} lazy chunks (largest ${kb(dashboard.largestRoute)})`,
  );
  console.log(`docs: swagger-ui bundle ${kb(docs.bundleGzip)} gzip, stylesheet ${kb(docs.cssGzip)}`);
}
if (dashboard.firstLoadGzip > FIRST_LOAD_BUDGET) {
  console.error(`The dashboard's first-load script is over its ${kb(FIRST_LOAD_BUDGET)} gzip budget.`);
  process.exit(1);
}
