// What the page's first picture (src/first.ts, drawn before React loads) hands over to the app.
import type { Box } from "./graph";

/** What the first picture drew: the view's key (its node ids) and layout, for the app to reuse. */
export interface FirstPicture {
  key: string;
  boxes: Box[];
}

declare global {
  interface Window {
    /** The answers' bodies of index.html's reads, by address (null: not a 2xx). */
    __linealJson?: Record<string, Promise<unknown>>;
    /** Settled once the first picture is drawn (or will not be); its layout, if drawn. */
    __linealFirst?: Promise<FirstPicture | null>;
    /** The first picture's layout, once drawn, until the app takes it (takeFirstPicture). */
    __linealFirstPicture?: FirstPicture;
    /** Set by the app as it starts rendering: the page is the app's from then on. */
    __linealReact?: boolean;
  }
}

/** The first picture's layout when it is that of the view keyed ``key`` (taken once): the app
 * draws the view there rather than lay it out again. */
export function takeFirstPicture(key: string): Box[] | null {
  const found = typeof window === "undefined" ? undefined : window.__linealFirstPicture;
  if (!found) return null;
  delete window.__linealFirstPicture;
  return found.key === key ? found.boxes : null;
}
