import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { get, setToken } from "../api";
import { ErrorLine } from "../components";

/** The token page: the server has tokens; the token is kept in this tab only (sessionStorage). */
export function Login() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [value, setValue] = useState("");
  const [error, setError] = useState<Error | undefined>();
  const next = params.get("next") || "/";

  async function submit(event: FormEvent) {
    event.preventDefault();
    setToken(value.trim());
    try {
      const projects = await get<string[]>("/projects");
      const project = next.match(/^\/p\/([^/]+)/)?.[1] ?? projects[0];
      if (project) await get(`/projects/${project}/artifacts`); // the token opens this project
      navigate(next, { replace: true });
    } catch (caught) {
      setToken(null);
      setError(caught instanceof Error ? caught : new Error(String(caught)));
    }
  }

  return (
    <main id="main" className="page login">
      <h1>Sign in to lineal</h1>
      <p>This server asks for a token (`lineal token create`). It is kept in this browser tab only.</p>
      <form onSubmit={submit}>
        <label htmlFor="token">Token</label>
        <input id="token" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} required />
        <button type="submit">Sign in</button>
      </form>
      <ErrorLine error={error} />
    </main>
  );
}
