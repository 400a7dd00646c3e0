import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { App, opened } from "./App";
import "./styles.css";

function start() {
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
}

// The page opened by address is rendered with the shell, in one render, once its code is here
// (index.html preloaded it beside the app's); if it fails to load, its route says so as before.
opened.then(start, start);
