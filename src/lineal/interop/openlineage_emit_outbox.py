"""The emitter's durable outbox under `.lineal/openlineage/`: one file per event, sent in order.

A lineal.outbox.Outbox whose messages are OpenLineage events posted to the receiver: each is
deleted on a 2xx; a network error or a 5xx (or 408, 429) stops the pass (the rest wait, in
order, for the next: the emitter never gives an event up); any other 4xx moves the event to
``refused/`` beside the receiver's answer, never to be retried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lineal import outbox
from lineal.errors import InvalidInput
from lineal.outbox import PassResult, post
from lineal.settings import OpenLineageConfig

__all__ = ["Outbox", "PassResult"]


class Outbox(outbox.Outbox):
    """The OpenLineage outbox of one workspace (``root``: its `.lineal/` folder)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / "openlineage")

    def put(self, message: Mapping[str, Any], kind: str | None = None) -> Path:
        """Write the event whole into the outbox; its name sorts after every earlier one."""
        return super().put(message, kind or str(message.get("eventType", "event")).lower())

    def send(self, config: OpenLineageConfig, *, deadline: float | None = None) -> PassResult:
        """Post the waiting events in order until one fails, the outbox is empty or
        ``deadline`` (a time.monotonic()) has passed."""
        import httpx

        try:
            headers = _headers(config)
        except InvalidInput as exc:
            self.note_error(exc.message)
            return PassResult(error=exc.message)
        with httpx.Client(timeout=config.timeout, headers=headers) as client:
            return self.drain(lambda body: post(client, config.target, body), deadline=deadline)


def _headers(config: OpenLineageConfig) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    key = config.api_key
    if config.api_key_env is not None:
        key = os.environ.get(config.api_key_env)
        if not key:
            raise InvalidInput(
                f"[openlineage] api_key_env: the environment variable {config.api_key_env} "
                "is not set",
                hint="set it, or remove api_key_env from lineal.toml",
            )
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers
