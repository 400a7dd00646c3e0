"""What a redactable payload is about: the subject a ``redact`` record names.

Pure: reads an op, never a store.
"""

from __future__ import annotations

from lineal.model.ops import MetricsBatch, Op, TagSet


def redaction_subject(op: Op) -> str | None:
    """The node a redactable payload is about (a ``redact`` record names it, so answers about
    that node can say what was erased once the bytes are gone): the run of a metrics batch,
    the node of a tag; None for an op whose payload may not be erased."""
    if isinstance(op, MetricsBatch):
        return f"run/{op.run}"
    if isinstance(op, TagSet):
        return op.target
    return None
