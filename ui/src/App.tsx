import { lazy, Suspense, useEffect, useRef, useState, type ComponentType } from "react";
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate, useParams } from "react-router-dom";
import { get, whenUnauthorized } from "./api";
import { ErrorLine, Loading } from "./components";
import { useData } from "./hooks";
import { PAGES, storedTheme, THEME_KEY, type Theme } from "./lib/shell";
import { Login } from "./pages/Login";

// The big pages load on first visit: the graph (React Flow, elkjs) and the charts (uPlot).
const loadLineage = () => import("./pages/Lineage");
const loadCompare = () => import("./pages/Compare");
const Lineage = lazy(loadLineage);
const Compare = lazy(loadCompare);
// The page opened by address starts loading now, not once the shell has rendered. The lineage
// page's module, here before the first render (main.tsx waits for `opened`), is then rendered at
// once, not through Suspense (a fallback committed, then a second render once the lazy module has
// said it is there).
let LineageNow: ComponentType | null = null;
export const opened: Promise<unknown> = /^\/p\/[^/]+\/lineage\/?$/.test(window.location.pathname)
  ? loadLineage().then((page) => (LineageNow = page.default))
  : Promise.resolve();
if (/^\/p\/[^/]+\/compare\/?$/.test(window.location.pathname)) void loadCompare();
const Runs = lazy(() => import("./pages/Runs"));
const Registry = lazy(() => import("./pages/Registry"));
const Artifacts = lazy(() => import("./pages/Artifacts"));
const Audit = lazy(() => import("./pages/Audit"));
const Verify = lazy(() => import("./pages/Verify"));
const Health = lazy(() => import("./pages/Health"));


function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  useEffect(() => {
    const root = document.documentElement;
    if (theme === "system") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", theme);
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return [theme, setTheme];
}


function Shell() {
  const { project = "" } = useParams();
  const [theme, setTheme] = useTheme();
  const projects = useData((signal) => get<string[]>("/projects", {}, signal), []);
  const navigate = useNavigate();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">lineal</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([path, title]) => (
              <li key={path}>
                <NavLink to={`/p/${encodeURIComponent(project)}/${path}`}>{title}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="top-tools">
          {projects.data && projects.data.length > 1 ? (
            <label>
              Project{" "}
              <select value={project} onChange={(e) => navigate(`/p/${encodeURIComponent(e.target.value)}/lineage`)}>
                {projects.data.map((name) => (
                  <option key={name}>{name}</option>
                ))}
              </select>
            </label>
          ) : (
            <span className="muted" aria-label="Project">
              {project}
            </span>
          )}
          <label>
            Theme{" "}
            <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
              <option value="system">system</option>
              <option value="light">light</option>
              <option value="dark">dark</option>
            </select>
          </label>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading when />}>
          <Routes>
            <Route path="lineage" element={LineageNow ? <LineageNow /> : <Lineage />} />
            <Route path="runs" element={<Runs />} />
            <Route path="compare" element={<Compare />} />
            <Route path="registry" element={<Registry />} />
            <Route path="artifacts" element={<Artifacts />} />
            <Route path="health" element={<Health />} />
            <Route path="audit" element={<Audit />} />
            <Route path="verify" element={<Verify />} />
            <Route path="*" element={<Navigate to="lineage" replace />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

/** ``/``: the first project's lineage page. */
function Home() {
  const projects = useData((signal) => get<string[]>("/projects", {}, signal), []);
  if (projects.data && projects.data.length > 0) {
    return <Navigate to={`/p/${encodeURIComponent(projects.data[0]!)}/lineage`} replace />;
  }
  return (
    <main id="main" className="page">
      <h1>lineal</h1>
      <Loading when={projects.loading} />
      <ErrorLine error={projects.error} />
      {projects.data ? <p>This server holds no project yet: `lineal server project create NAME`.</p> : null}
    </main>
  );
}

export function App() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    whenUnauthorized(() => {
      if (!window.location.pathname.startsWith("/login")) {
        navigate(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
      }
    });
  }, [navigate]);
  const first = useRef(true);
  useEffect(() => {
    // After a move to another page (not on the first), focus goes to its content.
    if (first.current) first.current = false;
    else document.getElementById("main")?.focus({ preventScroll: true });
  }, [location.pathname]);
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/login" element={<Login />} />
      <Route path="/p/:project/*" element={<Shell />} />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
