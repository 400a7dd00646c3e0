"""The metric buffer a run logs into, and the background flusher that makes it durable.

``log`` only packs each point into a bytearray per key; the flusher drains them about once a
second into one ``metrics.batch`` record, a typed column per field. Never touches the store
from the caller's thread.
"""

from __future__ import annotations

import itertools
import operator
import re
import struct
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


#: A flush starts early once this many points wait, and how often the flusher looks.
BIG_BATCH = 100_000
_POLL = 0.05

#: One buffered point: step (int64), value and time (float64), native byte order, 24 bytes.
_POINT = struct.Struct("=qdd")
_WIDTH = _POINT.size

#: Steps are int64 in the ledger.
_STEP_LIMIT = 2**63


class MetricBuffer:
    """Points logged since the last flush: per key, a bytearray of packed (step, value, time).

    ``log`` packs each point as it comes (which also checks the value is a number and the step
    fits int64) and appends it with one C call (``bytearray += bytes``), which the GIL makes
    atomic: points from several threads never tear, and the flusher takes a prefix of whole
    points while ``log`` appends behind it. A list of numbers would leave the flusher a
    million objects to convert and free; nothing the caller passed in is kept alive.
    """

    __slots__ = ("_columns", "_disown", "_last", "_log", "_log_batch")

    def __init__(self) -> None:
        self._columns: dict[str, bytearray] = {}
        self._last: dict[str, int] = {}  # each key's last step, waiting or drained
        self._log, self._log_batch, self._disown = _loggers(self)

    @property
    def fast_log(self) -> Callable[..., None]:
        """``log`` itself, without the method call around it (what a run hands out)."""
        return self._log

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record ``{key: number}`` at ``step`` (default: one past each key's last step)."""
        self._log(values, step)

    def log_batch(self, key: str, steps: Sequence[Any], values: Sequence[Any]) -> int:
        """Record many points of one key at once (lists or numpy arrays); return the count."""
        return self._log_batch(key, steps, values)

    def disown(self, message: str, hint: str) -> None:
        """Refuse every later ``log`` with this error (in a forked child: the points waiting
        are the parent's, and no flusher here would ever write new ones), dropping the copy
        of the parent's waiting points."""
        self._disown(message, hint)
        self._columns.clear()

    def drain(self) -> list[Series]:
        """Take every whole pending point out of the buffer."""
        taken = []
        for key, found in list(self._columns.items()):
            data = found[: len(found) // _WIDTH * _WIDTH]  # whole points only
            if data:
                del found[: len(data)]  # log() only appends behind: nothing it adds is lost
                taken.append(_series(key, data))
        return taken

    def pending(self) -> int:
        return sum(len(found) // _WIDTH for found in list(self._columns.values()))


def _series(key: str, data: bytearray) -> Series:
    """Packed points as a series: each field a strided slice of the whole, in C."""
    whole_ints, whole_floats = array("q"), array("d")
    whole_ints.frombytes(data)
    whole_floats.frombytes(data)
    steps, values, times = whole_ints[0::3], whole_floats[1::3], whole_floats[2::3]
    return Series(key, steps, values, times, ordered=True)  # log() checked the order


def _loggers(
    buffer: MetricBuffer,
) -> tuple[Callable[..., None], Callable[..., int], Callable[[str, str], None]]:
    """``log``, ``log_batch`` and ``disown`` as closures over the buffer's state.

    The quick path (one known key, a number, an int step or none) takes no lock: between its
    check of the key's last step and its append there is no call, so the GIL keeps them
    together. Every other call lands under ``lock`` with ``closed`` set meanwhile (quick
    calls then come to the lock and wait), so nothing slips in between what it checked and
    what it appends, and a call with several keys lands all of them or none.
    """
    columns, last, pack, now = buffer._columns, buffer._last, _POINT.pack, time.time
    lock, low, limit = threading.Lock(), -_STEP_LIMIT, _STEP_LIMIT
    closed = False
    refused: tuple[str, str] | None = None  # set in a forked child: (message, hint)

    def log(values: Mapping[str, Any], step: int | None = None) -> None:
        nonlocal closed
        when = now()
        try:
            if len(values) == 1:
                for key, value in values.items():
                    found = columns.get(key)
                    if found is not None:
                        at = last[key] + 1 if step is None else step
                        if at.__class__ is int:
                            point = pack(at, value, when)  # refuses non-numbers, huge steps
                            if last[key] <= at and not closed:  # no call from here on
                                found += point
                                last[key] = at
                                return
        except (TypeError, AttributeError, struct.error):
            pass  # the careful path says what is wrong
        careful(values, step, when)

    def careful(values: Mapping[str, Any], step: Any, when: float) -> None:
        """Several keys (all or none), a new key, a step that goes back, or bad input."""
        if step is not None and (step.__class__ is not int or not low <= step < limit):
            step = _step(step)
        land(_checked, columns, last, values, step, when)

    def log_batch(key: str, steps: Sequence[Any], values: Sequence[Any]) -> int:
        packed, first, final = _packed(key, steps, values, now())
        if packed:
            land(_batch, columns, last, key, packed, first, final)
        return len(packed) // _WIDTH

    def land(check: Callable[..., list[_Points]], *args: Any) -> None:
        """Check points with the quick path closed, then append them all (or, if refused,
        none)."""
        nonlocal closed
        if refused is not None:
            message, hint = refused  # refused before the lock: a parent's thread may hold it
            raise InvalidInput(message, hint=hint)
        with lock:
            closed = True
            try:
                for key, buffered, point, at in check(*args):
                    if buffered is None:
                        columns[key] = bytearray(point)
                    else:
                        buffered.extend(point)
                    last[key] = at
            finally:
                closed = False

    def disown(message: str, hint: str) -> None:
        nonlocal closed, refused
        refused, closed = (message, hint), True  # the quick path stays closed: land() refuses

    return log, log_batch, disown


#: Points of one key checked and packed, ready to append: key, its buffer (None when new),
#: the packed bytes, and the last step among them.
_Points = tuple[str, bytearray | None, bytes | bytearray, int]


def _checked(
    columns: dict[str, bytearray],
    last: dict[str, int],
    values: Mapping[str, Any],
    step: int | None,
    when: float,
) -> list[_Points]:
    """One ``log`` call's points, every key and value checked (the buffer's lock held)."""
    try:
        items = values.items()
    except AttributeError:
        raise InvalidInput(
            f"run.log takes a mapping of metric names to numbers, not {values!r}"
        ) from None
    points: list[_Points] = []
    for key, value in items:
        found = columns.get(key)
        if found is None:
            _key(key)
        at = _next_step(key, step, last.get(key))
        try:
            points.append((key, found, _POINT.pack(at, value, when), at))
        except struct.error:
            raise _not_a_number(key, value) from None
    return points


def _batch(
    columns: dict[str, bytearray],
    last: dict[str, int],
    key: str,
    packed: bytearray,
    first: int,
    final: int,
) -> list[_Points]:
    """A ``log_batch`` as one run of points, refused if it starts behind the key."""
    _next_step(key, first, last.get(key))
    return [(key, columns.get(key), packed, final)]


def _next_step(key: str, step: int | None, previous: int | None) -> int:
    """``step``, or when None the one after ``previous`` (0 for a key's first point); refused
    if it goes back. Any int64 may start a key, negative ones too."""
    if step is None:
        if previous is None:
            return 0
        if previous + 1 >= _STEP_LIMIT:
            raise InvalidInput(f"metric {key!r} has run out of int64 steps: give a step")
        return previous + 1
    if previous is not None and step < previous:
        raise InvalidInput(
            f"step {step} of metric {key!r} goes back (last step {previous})",
            hint="log steps in increasing order, or leave step out",
        )
    return step


def _packed(
    key: str, steps: Sequence[Any], values: Sequence[Any], when: float
) -> tuple[bytearray, int, int]:
    """``log_batch``'s points packed as ``log`` packs them, with the first and last step."""
    _key(key)
    step_column, value_column = _int_column(steps), _float_column(values, key)
    if len(step_column) != len(value_column):
        raise InvalidInput(
            f"log_batch({key!r}): {len(step_column)} steps but {len(value_column)} values"
        )
    if not step_column:
        return bytearray(), 0, 0
    if any(b < a for a, b in itertools.pairwise(step_column)):
        raise InvalidInput(f"log_batch({key!r}): steps must not decrease")
    packed = bytearray(_WIDTH * len(step_column))
    with memoryview(packed) as view:
        view.cast("q")[0::3] = memoryview(step_column)
        view.cast("d")[1::3] = memoryview(value_column)
        view.cast("d")[2::3] = memoryview(array("d", [when]) * len(step_column))
    return packed, step_column[0], step_column[-1]


def _step(step: Any) -> int:
    try:
        value = operator.index(step)  # ints and numpy integers, not floats or bools
    except TypeError:
        value = None
    if value is None or isinstance(step, bool) or not -_STEP_LIMIT <= value < _STEP_LIMIT:
        raise InvalidInput(f"bad step {step!r}: expected an integer")
    return value


def _not_a_number(key: object, value: Any) -> InvalidInput:
    return InvalidInput(
        f"metric {key!r} must be a number, not {value!r}",
        hint="log floats or ints (NaN and inf are kept)",
    )


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

    def stop(self, *, write: bool = True) -> None:
        """Stop the thread and write what is left (raising if that fails); ``write=False``:
        leave it for ``take``."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        if write:
            self.flush()

    def take(self) -> list[Series]:
        """Every point not yet written (a failed write's too), out of the flusher: for the
        caller to write in a transaction of its own choosing."""
        with self._flush_lock:
            series = list(merge(self._retry + self.buffer.drain()).values())
            self._retry = []
            return series
