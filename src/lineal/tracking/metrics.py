"""The metric buffer a run logs into, and the background flusher that makes it durable.

``log`` only appends numbers to one list per key; the flusher drains them about once a second
into one ``metrics.batch`` record, a typed column per field. Never touches the store from the
caller's thread.
"""

from __future__ import annotations

import itertools
import operator
import re
import threading
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lineal.errors import InvalidInput
from lineal.model.series import Series, merge

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:-]{0,249}")


def _key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidInput(
            f"bad metric key {key!r}: use letters, digits and _./:- (max 250), "
            "starting with a letter, digit or _"
        )
    return key


def _step(step: Any) -> int:
    try:
        value = operator.index(step)  # ints and numpy integers, not floats or bools
    except TypeError:
        value = None
    if value is None or isinstance(step, bool) or not -(2**63) <= value < 2**63:
        raise InvalidInput(f"bad step {step!r}: expected an integer")
    return value


#: A flush starts early once this many points wait, and how often the flusher looks.
BIG_BATCH = 200_000
_POLL = 0.05

#: Steps are int64 in the ledger.
_STEP_LIMIT = 2**63


class MetricBuffer:
    """Points logged since the last flush: one list per key of step, value, time, step, ….

    Lock-free: a point is appended with one C call (``list += (step, value, time)``), which the
    GIL makes atomic, so points from several threads never tear and the flusher can take a
    prefix of whole points (``found[:n]`` then ``del found[:n]``) while ``log`` appends behind
    it. A lock would cost more than the rest of ``log``; so would a typed array, whose
    ``extend`` converts item by item (the flusher converts a whole column at once). The
    numbers are floats and ints, which the garbage collector does not track.
    """

    __slots__ = ("_columns", "_last", "_log")

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {}
        self._last: dict[str, int] = {}  # each key's last step drained (log reads it then)
        self._log = _logger(self)

    @property
    def fast_log(self) -> Callable[..., None]:
        """``log`` itself, without the method call around it (what a run hands out)."""
        return self._log

    def _new_key(self, key: str) -> list[Any]:
        _key(key)
        return self._columns.setdefault(key, [])

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record ``{key: number}`` at ``step`` (default: one past each key's last step)."""
        self._log(values, step)

    def log_batch(self, key: str, steps: Sequence[Any], values: Sequence[Any]) -> int:
        """Record many points of one key at once (lists or numpy arrays); return the count."""
        _key(key)
        step_column, value_column = _int_column(steps), _float_column(values, key)
        if len(step_column) != len(value_column):
            raise InvalidInput(
                f"log_batch({key!r}): {len(step_column)} steps but {len(value_column)} values"
            )
        if not step_column:
            return 0
        if any(b < a for a, b in itertools.pairwise(step_column)):
            raise InvalidInput(f"log_batch({key!r}): steps must not decrease")
        found = self._columns.get(key) or self._new_key(key)
        try:
            previous = found[-3]
        except IndexError:
            previous = self._last.get(key, -1)
        if step_column[0] < previous:
            raise InvalidInput(
                f"step {step_column[0]} of metric {key!r} goes back (last step {previous})"
            )
        packed: list[Any] = [time.time()] * (3 * len(step_column))
        packed[0::3] = step_column.tolist()
        packed[1::3] = value_column.tolist()
        found += packed  # one C call: the whole batch lands at once
        return len(step_column)

    def drain(self) -> list[Series]:
        """Take every whole pending point out of the buffer."""
        taken = []
        for key, found in list(self._columns.items()):
            count = len(found) // 3 * 3  # a point being appended right now waits for next time
            if not count:
                continue
            steps, values = array("q", found[0:count:3]), array("d", found[1:count:3])
            times = array("d", found[2:count:3])
            self._last[key] = found[count - 3]  # before the points go: log() reads it then
            del found[:count]  # log() only appends behind: nothing it adds is lost
            taken.append(Series(key, steps, values, times, ordered=True))  # log() checked
        return taken

    def pending(self) -> int:
        return sum(len(found) // 3 for found in list(self._columns.values()))


def _logger(buffer: MetricBuffer) -> Callable[..., None]:
    """``MetricBuffer.log`` as a closure: its state in cells, not looked up on every call."""
    columns, last, new_key, now, limit = (
        buffer._columns,
        buffer._last,
        buffer._new_key,
        time.time,
        _STEP_LIMIT,
    )

    def log(values: Mapping[str, Any], step: int | None = None) -> None:
        when = now()
        if step is not None and (step.__class__ is not int or not -limit <= step < limit):
            step = _step(step)
        try:
            items = values.items()
        except AttributeError:
            raise InvalidInput(
                f"run.log takes a mapping of metric names to numbers, not {values!r}"
            ) from None
        if len(values) > 1:
            values = _checked(values)  # all or nothing: no key lands if another is bad
            items = values.items()
        for key, given in items:
            value = given if given.__class__ is float else _number(key, given)
            found = columns.get(key)
            if found is None:
                found = new_key(key)
            try:
                previous = found[-3]  # the step of the last point still waiting
            except IndexError:  # none waits: drain() kept the last step it took
                previous = last.get(key, -1)
            if step is None:
                at = previous + 1
            elif step < previous:
                raise InvalidInput(
                    f"step {step} of metric {key!r} goes back (last step {previous})",
                    hint="log steps in increasing order, or leave step out",
                )
            else:
                at = step
            found += (at, value, when)

    return log


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with every value a float or an int, or the error about the first that is not."""
    checked = {}
    for key, value in values.items():
        checked[key] = value if value.__class__ is float else _number(key, value)
    return checked


def _number(key: object, value: Any) -> float:
    """A logged value that is not exactly a float, as a float64 (ints, numpy and torch scalars,
    anything with ``__float__``), or the error that says it is not a number."""
    try:
        column: array[float] = array("d", (value,))
    except (TypeError, OverflowError):
        raise InvalidInput(
            f"metric {key!r} must be a number, not {value!r}",
            hint="log floats or ints (NaN and inf are kept)",
        ) from None
    return column[0]


def _int_column(steps: Sequence[Any]) -> array[int]:
    if hasattr(steps, "dtype"):  # numpy: one conversion in C
        try:
            column = array("q")
            column.frombytes(steps.astype("<i8", casting="same_kind").tobytes())  # type: ignore[attr-defined]
        except TypeError as exc:
            raise InvalidInput(f"bad steps: expected integers ({exc})") from exc
        return column
    return array("q", [_step(s) for s in steps])


def _float_column(values: Sequence[Any], key: str) -> array[float]:
    if hasattr(values, "dtype"):
        try:
            column = array("d")
            column.frombytes(values.astype("<f8").tobytes())  # type: ignore[attr-defined]
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"metric {key!r}: values must be numbers ({exc})") from exc
        return column
    try:
        return array("d", values)
    except TypeError as exc:
        raise InvalidInput(f"metric {key!r}: values must be numbers ({exc})") from exc


class Flusher:
    """A daemon thread that writes the buffer at least every ``interval`` seconds."""

    def __init__(
        self,
        buffer: MetricBuffer,
        write: Callable[[list[Series]], None],
        *,
        beat: Callable[[], None] | None = None,
        interval: float = 1.0,
        beat_every: float = 5.0,
    ) -> None:
        self.buffer = buffer
        self._write = write
        self._beat = beat
        self.interval = interval
        self.beat_every = beat_every
        self.error: BaseException | None = None
        self._retry: list[Series] = []
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="lineal-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        next_beat = 0.0
        due = time.monotonic() + self.interval
        # Wake often, write when the interval is up or a big batch is waiting: a tight loop
        # then has most of its points written (hashing and SQLite run outside the GIL) by
        # the time it finishes, and a batch record stays a few MB.
        while not self._stop.wait(min(self.interval, _POLL)):
            try:
                if time.monotonic() < due and self.buffer.pending() < BIG_BATCH:
                    continue
                self.flush()
                due = time.monotonic() + self.interval
                if self._beat is not None and time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.beat_every
            except Exception as exc:
                self.error = exc

    def flush(self) -> int:
        """Write every pending point now; return how many were written."""
        with self._flush_lock:
            series = list(merge(self._retry + self.buffer.drain()).values())
            if not series:
                return 0
            try:
                self._write(series)
            except BaseException:
                self._retry = series  # nothing is dropped: the next flush tries again
                raise
            self._retry = []
            return sum(len(one) for one in series)

    def stop(self) -> None:
        """Stop the thread and write what is left (raising if that fails)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()
