// The app's shell as both who draw it know it: App.tsx (React) and the page's early script
// (src/first.ts), which draws the shell of a lineage view opened by address before React loads.

/** The pages of the top bar: path under /p/PROJECT/, and title. */
export const PAGES: [string, string][] = [
  ["lineage", "Lineage"],
  ["runs", "Runs"],
  ["compare", "Compare"],
  ["registry", "Registry"],
  ["artifacts", "Data"],
  ["health", "Health"],
  ["audit", "Audit"],
  ["verify", "Verify"],
];

export type Theme = "light" | "dark" | "system";
export const THEME_KEY = "lineal.theme";

/** The theme chosen in this browser (the Theme menu), else the system's. */
export function storedTheme(): Theme {
  const found = localStorage.getItem(THEME_KEY);
  return found === "light" || found === "dark" ? found : "system";
}
