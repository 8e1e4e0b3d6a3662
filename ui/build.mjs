// Bundle the page with esbuild into ui/dist (run by `./dev setup`; ui/dist is not in git).
// Everything the page loads comes from this folder: ethers is bundled in, nothing from a CDN.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");

// Start clean, but keep ./dev setup's stamp (the hash of the inputs it last built from).
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) if (name !== ".hv-stamp") rmSync(join(dist, name), { recursive: true, force: true });
await build({
  entryPoints: [join(src, "main.js")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css"]) copyFileSync(join(src, file), join(dist, file));
console.log(`built ${dist}`);
