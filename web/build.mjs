// Builds the map bundle into the Python package (src/airpicture/web/static/), which is committed,
// so users of the package never need npm. Run with `npm run build`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "airpicture", "web", "static");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});

await build({
  stdin: {
    contents: '@import "leaflet/dist/leaflet.css"; @import "./src/style.css"; @import "./src/operators.css";',
    resolveDir: here,
    loader: "css",
  },
  bundle: true,
  minify: true,
  loader: { ".png": "empty", ".svg": "empty" },
  outfile: join(out, "app.css"),
  logLevel: "warning",
});

copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
copyFileSync(join(here, "node_modules", "world-atlas", "countries-50m.json"), join(out, "countries-50m.json"));

const notices = [
  ["leaflet", "leaflet/LICENSE"],
  ["milsymbol", "milsymbol/LICENSE"],
  ["topojson-client", "topojson-client/LICENSE"],
  ["world-atlas (countries-50m.json; data from Natural Earth, public domain)", "world-atlas/LICENSE"],
];
const text = notices
  .map(([name, file]) => `${name}\n${"=".repeat(name.length)}\n\n${readFileSync(join(here, "node_modules", file), "utf8").trim()}\n`)
  .join("\n\n");
writeFileSync(join(out, "THIRD-PARTY-NOTICES.txt"), `Third-party software bundled in app.js, app.css and countries-50m.json\n\n${text}`);

for (const f of ["app.js", "app.css", "index.html", "countries-50m.json"]) {
  console.log(`${f.padEnd(20)} ${(statSync(join(out, f)).size / 1024).toFixed(0).padStart(6)} KiB`);
}
