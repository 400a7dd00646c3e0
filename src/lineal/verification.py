"""`lineal verify` as a whole: the ledger and its projections, the audit log's chain, the
ledger against the newest checkpoint kept, and the bytes behind every recorded version.

A service that runs the three checks and gathers what they found; never prints, never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal import checkpoint_files, verify_objects
from lineal.cas.progress import Progress, stage
from lineal.client import Lineal

if TYPE_CHECKING:
    from lineal.model.audit import AuditReport
    from lineal.store.base import VerifyReport


@dataclass(frozen=True, slots=True)
class Verification:
    """The four reports; ``ok`` only when all four are."""

    ledger: VerifyReport
    checkpoint: checkpoint_files.KnownCheck
    objects: verify_objects.ObjectReport
    audit: AuditReport

    @property
    def ok(self) -> bool:
        return self.ledger.ok and self.checkpoint.ok and self.objects.ok and self.audit.ok

    def as_dict(self) -> dict[str, Any]:
        # The ledger's keys stay at the top, as before the other two checks existed.
        return {
            **self.ledger.as_dict(),
            "ok": self.ok,
            "ledger_ok": self.ledger.ok,
            "checkpoint": self.checkpoint.as_dict(),
            "objects": self.objects.as_dict(),
            "audit": self.audit.as_dict(),
        }


def verify(
    repo: Lineal,
    *,
    rehash: bool = False,
    sample: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> Verification:
    """Check the ledger (chain, signatures, payloads, projections), the ledger against the
    newest checkpoint kept in the workspace, and that every object recorded versions need is
    cached (``rehash``: and hashes right; ``sample``: that many of them, at random)."""
    stage(progress, "checking the ledger", after="nothing was changed")
    ledger = repo.verify()
    stage(progress, "checking the audit log", after="nothing was changed")
    audit = repo.store.verify_audit()
    stage(progress, "checking the newest checkpoint", after="nothing was changed")
    known = checkpoint_files.check_known(repo)
    found = verify_objects.check_objects(
        repo, rehash=rehash, sample=sample, seed=seed, progress=progress
    )
    return Verification(ledger, known, found, audit)
