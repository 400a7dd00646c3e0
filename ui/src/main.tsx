import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App, opened } from "./App";
import "./styles.css";

function start() {
  // The page is the app's from now on: the first picture (src/first.ts) draws nothing more.
  window.__linealReact = true;
  // React's first commit replaces whatever the page held (the first picture) with its own.
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
}

/** The most the app waits for the first picture (its reads answered and drawn) before it starts
 * regardless: a read that hangs leaves the app to say so. */
const FIRST_WAIT_MS = 3000;

// The page opened by address is rendered with the shell, in one render, once its code is here
// (index.html preloaded it beside the app's); if it fails to load, its route says so as before.
// A lineage view drawn first without React (src/first.ts) is awaited too, so the app's first
// render draws that view (its answers and layout), in place.
const first = window.__linealFirst;
const drawn = first
  ? Promise.race([first, new Promise((resolve) => setTimeout(resolve, FIRST_WAIT_MS))]).catch(() => null)
  : null;
Promise.all([opened, drawn]).then(start, start);
