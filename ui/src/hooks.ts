import { useEffect, useRef, useState, type DependencyList } from "react";
import { ApiError } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
}

/** The answer of ``load`` (re-asked when ``deps`` change; a stale answer is dropped). ``first``,
 * when it has the first answer already (undefined: not), is that answer: taken in the first
 * render, and ``load`` first asked when ``deps`` change. */
export function useData<T>(
  load: ((signal: AbortSignal) => Promise<T>) | null,
  deps: DependencyList,
  first?: () => T | undefined,
): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>(() => {
    const data = load !== null && first ? first() : undefined;
    return { data, error: undefined, loading: load !== null && data === undefined };
  });
  const given = useRef(state.data !== undefined);
  useEffect(() => {
    if (given.current) {
      given.current = false;
      return;
    }
    if (load === null) {
      // Unchanged when already so: no render for nothing.
      setState((old) => (old.data === undefined && !old.error && !old.loading ? old : { data: undefined, error: undefined, loading: false }));
      return;
    }
    const controller = new AbortController();
    setState((old) => ({ data: old.data, error: undefined, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ data: undefined, error: error instanceof Error ? error : new Error(String(error)), loading: false });
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}
