import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

// index.html's early script preloads the chunks of the page opened by address (the lineage
// explorer's, the comparison's), beside the app's own: their names are known once built.
const PAGES: Record<string, string> = { lineage: "src/pages/Lineage.tsx", compare: "src/pages/Compare.tsx" };

function pageChunks(): Plugin {
  return {
    name: "lineal-page-chunks",
    transformIndexHtml: {
      order: "post",
      handler(html, context) {
        const bundle = context.bundle;
        const chunks: Record<string, string[]> = {};
        if (bundle) {
          for (const [page, source] of Object.entries(PAGES)) {
            // The chunk holding the page's module (its facade, or not when it also holds code
            // a chunk it loads later imports from it).
            const entry = Object.values(bundle).find(
              (one) =>
                one.type === "chunk" &&
                (one.facadeModuleId?.endsWith(source) || one.moduleIds.some((id) => id.endsWith(source))),
            );
            if (!entry || entry.type !== "chunk") continue;
            // The page's chunk and the chunks it imports that the app's entry does not.
            const files = [entry.fileName, ...entry.imports.filter((f) => !bundle[f] || !(bundle[f] as { isEntry?: boolean }).isEntry)];
            chunks[page] = files.map((f) => `/${f}`);
          }
        }
        html = html.replace("/*page-chunks*/ {}", JSON.stringify(chunks));
        // The first picture's entry (src/first.ts), its own chunk, run before the app's: its
        // script (and its imports, preloaded) ahead of the app's entry, after the stylesheet
        // (the picture is measured in its canvas, so styled).
        const first = bundle && Object.values(bundle).find((one) => one.type === "chunk" && one.isEntry && one.name === "first");
        if (first && first.type === "chunk") {
          // Between marks: lineal's server leaves them out of every other page (lineal.server.ui).
          const tags = [
            "<!--first-picture-->",
            ...first.imports.map((f) => `<link rel="modulepreload" crossorigin href="/${f}">`),
            `<script type="module" crossorigin src="/${first.fileName}"></script>`,
            "<!--/first-picture-->",
          ].join("\n    ");
          const sheet = /\s*<link rel="stylesheet" crossorigin href="\/assets\/index-[^"]*\.css">/.exec(html)?.[0] ?? "";
          html = html.replace(sheet, "");
          html = html.replace(/(\s*)(<script type="module" crossorigin src="\/assets\/index-)/, `${sheet}$1${tags}$1$2`);
        } else if (bundle) {
          throw new Error("the build has no first-picture entry (src/first.ts)");
        }
        return html;
      },
    },
  };
}

// The bundle goes into the Python package, which serves it at / (lineal.server.ui).
const outDir = fileURLToPath(new URL("../src/lineal/server/ui_static", import.meta.url));

export default defineConfig({
  plugins: [react(), pageChunks()],
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    sourcemap: false,
    rollupOptions: {
      // The page's first picture (src/first.ts) is an entry of its own, loaded before the app.
      input: { index: fileURLToPath(new URL("index.html", import.meta.url)), first: fileURLToPath(new URL("src/first.ts", import.meta.url)) },
    },
  },
  worker: { format: "es" },
  server: {
    // `npm run dev` beside `lineal ui` (port 8471): the API is proxied to it.
    proxy: { "/api": "http://127.0.0.1:8471" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
