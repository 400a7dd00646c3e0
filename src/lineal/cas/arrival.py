"""One object arriving at a remote in pieces (an upload to a lineal server): each piece written
to a staging file and hashed as it comes; kept under its digest only when whole and matching.

Never publishes bytes that do not hash to the digest they were sent as, and never leaves a
staging file behind a failed or abandoned arrival.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from lineal.cas import incoming
from lineal.errors import InvalidInput
from lineal.model.digests import PREFIX, check_digest

if TYPE_CHECKING:
    from lineal.cas.remote import Remote


class Arrival:
    """``with Arrival(remote, digest) as arrival: arrival.write(piece) ...; arrival.finish()``.

    Leaving the block without ``finish()`` (an error, a client that went away) discards what
    arrived.
    """

    def __init__(self, remote: Remote, digest: str) -> None:
        self.remote = remote
        self.digest = check_digest(digest)
        self.size = 0
        self._hasher = hashlib.sha256()
        hexdigest = digest[len(PREFIX) :]
        # The name `incoming.clean` knows: a server killed mid-upload leaves a file a later
        # clean removes once nothing has written to it for the grace period.
        self.path = Path(incoming.upload_path(str(remote.staging()), hexdigest))
        self._file = self.path.open("xb")

    def __enter__(self) -> Arrival:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def write(self, piece: bytes) -> None:
        self._hasher.update(piece)
        self._file.write(piece)
        self.size += len(piece)

    def finish(self) -> int:
        """Keep the object if its bytes hash to its digest (InvalidInput, and nothing kept, if
        not); its size."""
        self._file.close()  # publishing makes it durable
        actual = PREFIX + self._hasher.hexdigest()
        if actual != self.digest:
            self.path.unlink(missing_ok=True)
            raise InvalidInput(
                f"the {self.size} bytes sent as object {self.digest} hash to {actual}: "
                "nothing was kept",
                hint="send the object's own bytes; if they came from a cache, its copy is "
                "damaged: add the data again, then push",
            )
        self.remote.publish(self.path, self.digest)
        return self.size
