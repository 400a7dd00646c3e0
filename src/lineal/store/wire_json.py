"""JSON text of answers over HTTP: orjson where it writes the same JSON, the standard library
elsewhere. Shared by the server (its store reads and service endpoints) and HttpStore.

orjson (the ``server`` extra installs it) writes a big answer ~15x faster than ``json.dumps``
and reads it ~2x faster than ``json.loads``, but it writes NaN and infinities as ``null`` and
reads integers past 64 bits as floats. So it takes only bodies that hold no float, such as
lineage answers (text, integers and None: :data:`FLOAT_FREE`); a body that may hold floats
takes the standard library, which refuses NaN (the caller spells it; see lineal.store.wire
and lineal.server.services), and so does whatever orjson refuses to write (an integer past 64
bits, a key that is not text). Without orjson, everything takes the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lineal.store import wire

#: The reads whose answers hold no float: nodes, edges, depths and seqs (lineal.store.base's
#: NodeRow and lineal.model.entities.Edge; a test holds their fields to it).
FLOAT_FREE = frozenset({"closure", "subgraph", "path_subgraph"})


def _orjson() -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]] | None:
    try:
        import orjson
    except ImportError:
        return None
    return orjson.dumps, orjson.loads


_FAST = _orjson()


def dumps(body: Any, *, floats: bool = True) -> bytes:
    """``body`` as compact UTF-8 JSON; ``floats=False`` when it holds no float (then orjson
    may write it). Raises ValueError on a NaN or an infinity, as ``json.dumps`` does with
    ``allow_nan=False``."""
    if not floats and _FAST is not None:
        try:
            return _FAST[0](body)
        except TypeError:  # what orjson will not write exactly: the standard library does
            pass
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes, *, floats: bool = True) -> Any:
    """The JSON value ``data`` holds; ``floats=False`` when it holds no float (nor an integer
    past 64 bits), then orjson may read it."""
    if not floats and _FAST is not None:
        return _FAST[1](data)
    return json.loads(data)


def encode_answer(method: str, value: Any) -> bytes:
    """Store read ``method``'s answer ``value`` as the JSON text the server sends."""
    return dumps(wire.encode_result(method, value), floats=method not in FLOAT_FREE)


def decode_answer(method: str, data: bytes) -> Any:
    """The answer back from the JSON text the server sent."""
    return wire.decode_result(method, loads(data, floats=method not in FLOAT_FREE))
