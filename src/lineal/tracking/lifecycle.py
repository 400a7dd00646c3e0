"""The runs a process has open, and what its exit, SIGTERM and fork do to them.

At exit an open run is finished (``failed`` if an exception ended the script); on SIGTERM it
is flushed and finished as ``killed``. A forked child (multiprocessing workers, data-loader
workers, a bare ``os.fork``) inherits the parent's runs but does not own them: it forgets them
at once, so its exit or its SIGTERM (``Pool.terminate``) never finishes the parent's run, and
logging to one from the child is refused with a clear error rather than lost in a buffer that
no flusher drains. A command run by `lineal run` may also hold a handle on that run (see
tracking/attached.py): at exit and on SIGTERM it is flushed, never finished.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineal.tracking.runs import ActiveRun

_ACTIVE: list[ActiveRun] = []
_ACTIVE_LOCK = threading.Lock()
_INHERITED: list[ActiveRun] = []  # in a forked child: the parent's open runs, innermost last
_ATTACHED: ActiveRun | None = None  # the handle on the run `lineal run` wraps this process in
_previous_sigterm: Any = None
_hooks_installed = False


def active_run() -> ActiveRun | None:
    """The innermost run started in this process and not yet finished."""
    with _ACTIVE_LOCK:
        return _ACTIVE[-1] if _ACTIVE else None


def inherited_run() -> ActiveRun | None:
    """In a forked child, the innermost run its parent had open at the fork (else None): the
    run a worker's own runs were started for."""
    return _INHERITED[-1] if _INHERITED else None


def attached_run() -> ActiveRun | None:
    """The handle this process holds on the run `lineal run` wraps it in, if it made one."""
    return _ATTACHED


def remember(run: ActiveRun) -> None:
    """Track ``run`` as open in this process (finished at exit or SIGTERM if still open)."""
    from lineal.errors import Conflict

    with _ACTIVE_LOCK:
        if any(r.id == run.id for r in _ACTIVE):
            raise Conflict(f"{run.ref} is already active")
        _ACTIVE.append(run)
        _install_hooks()


def hold_attached(run: ActiveRun) -> None:
    """Keep ``run`` as this process's handle on its wrapper run (flushed at exit or SIGTERM)."""
    global _ATTACHED  # noqa: PLW0603 - one per process
    with _ACTIVE_LOCK:
        _ATTACHED = run
        _install_hooks()


def release_attached(run: ActiveRun) -> None:
    global _ATTACHED  # noqa: PLW0603
    with _ACTIVE_LOCK:
        if _ATTACHED is run:
            _ATTACHED = None


def _install_hooks() -> None:
    global _hooks_installed  # noqa: PLW0603 - process-wide hooks are installed once
    if not _hooks_installed:
        atexit.register(_at_exit)
        _install_sigterm()
        _hooks_installed = True


def forget(run: ActiveRun) -> None:
    with _ACTIVE_LOCK:
        if run in _ACTIVE:
            _ACTIVE.remove(run)


def finish_all(status: str, error: str | None) -> None:
    while (run := active_run()) is not None:
        try:
            run.finish(status, error=error)
        except Exception:
            forget(run)
    if (attached := _ATTACHED) is not None:
        try:
            attached.finish(status, error=error)  # flushes only: `lineal run` ends that run
        except Exception:
            release_attached(attached)


def _at_exit() -> None:
    ended = getattr(sys, "last_value", None)  # what ended the script, when something did
    if isinstance(ended, KeyboardInterrupt):
        finish_all("killed", "KeyboardInterrupt")  # Ctrl-C, as a `with` block records it
    elif ended is not None:
        finish_all("failed", f"{type(ended).__name__}: {ended}"[:2000])
    else:
        finish_all("finished", None)


def _install_sigterm() -> None:
    global _previous_sigterm  # noqa: PLW0603
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread; exit hooks still flush
    _previous_sigterm = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    finish_all("killed", "SIGTERM")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _after_fork_in_child() -> None:
    """The child of a fork: the parent's runs are the parent's, and so is its handle on the
    wrapper run (the child makes its own when it asks for one)."""
    global _ACTIVE_LOCK, _ATTACHED  # noqa: PLW0603 - another thread may have held the lock
    _ACTIVE_LOCK = threading.Lock()
    _INHERITED.extend(_ACTIVE)  # held here, too, so nothing of theirs is collected and closed
    _ACTIVE.clear()
    if _ATTACHED is not None:
        _INHERITED.insert(0, _ATTACHED)  # outermost: the parent's own runs were started in it
        _ATTACHED = None
    for run in _INHERITED:
        run.disown()


os.register_at_fork(after_in_child=_after_fork_in_child)
