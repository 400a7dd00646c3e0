"""Writers' ed25519 signing keys: create, store (private key 0600), load, sign, check.

Never writes a private key anywhere but the key directory it is given; never logs a key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lineal.errors import InvalidInput, NotFound
from lineal.model.entities import check_agent_name


def key_id(public_key: str) -> str:
    """A short, stable id of a public key (16 hex characters of its sha256)."""
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Signer:
    """An agent name with its private key: what every write is signed with."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> str:
        return self.private_key.sign(message).hex()

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(check_agent_name(name), Ed25519PrivateKey.generate())


def verify_signature(public_key: str, message: bytes, signature: str) -> bool:
    """True if ``signature`` (hex) is ``public_key``'s ed25519 signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def key_path(directory: Path, name: str) -> Path:
    return directory / f"{check_agent_name(name)}.ed25519"


def save_signer(directory: Path, signer: Signer) -> Path:
    """Write the private key (PEM, PKCS#8, mode 0600) and its public half beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = key_path(directory, signer.name)
    if path.exists():
        raise InvalidInput(
            f"a key for {signer.name!r} already exists at {path}",
            hint="use that key, or pass --agent with another name",
        )
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    path.with_suffix(".pub").write_text(signer.public_key + "\n")
    return path


def stored_public_key(directory: Path, name: str) -> str | None:
    """The public half of ``name``'s private key in ``directory``; None when it has none."""
    path = key_path(directory, name)
    if not path.is_file():
        return None
    try:
        text = path.with_suffix(".pub").read_text().strip()
    except OSError:
        text = ""
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text
    return load_signer(directory, name).public_key  # the .pub beside it is gone or damaged


def stored_names(directory: Path) -> list[str]:
    """The agents with a private key in ``directory``, by name."""
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.ed25519") if path.is_file())


def load_signer(directory: Path, name: str) -> Signer:
    """Load ``name``'s private key from ``directory``."""
    path = key_path(directory, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(
            f"no signing key for agent {name!r} at {path}",
            hint=f"`lineal agent add {name}` makes one (run as an agent that has a key), or set "
            "LINEAL_AGENT to an agent with a key",
        ) from exc
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} does not hold an ed25519 private key")
    return Signer(name, key)


def retired_path(directory: Path, name: str, retired_key_id: str) -> Path:
    """Where a key rotated away is kept: ``retired/NAME-KEYID.ed25519`` (out of the way of
    the agent's current key, never deleted: what it signed before stays its own)."""
    return directory / "retired" / f"{check_agent_name(name)}-{retired_key_id}.ed25519"


def replace_signer(directory: Path, old: Signer, new: Signer) -> tuple[Path, Callable[[], None]]:
    """Move ``old``'s key file to retired/ and write ``new`` where it was; return where ``old``
    went and a function that puts things back as they were. Both private keys are on disk at
    every moment, so a crash halfway loses neither."""
    current = key_path(directory, old.name)
    if stored_public_key(directory, old.name) != old.public_key:
        raise InvalidInput(
            f"{current} does not hold agent {old.name!r}'s key {old.key_id}",
            hint="write as the agent whose key is there, or restore its key file",
        )
    retired = retired_path(directory, old.name, old.key_id)
    retired.parent.mkdir(mode=0o700, exist_ok=True)
    current.replace(retired)
    if current.with_suffix(".pub").exists():
        current.with_suffix(".pub").replace(retired.with_suffix(".pub"))

    def undo() -> None:
        current.unlink(missing_ok=True)
        current.with_suffix(".pub").unlink(missing_ok=True)
        retired.replace(current)
        if retired.with_suffix(".pub").exists():
            retired.with_suffix(".pub").replace(current.with_suffix(".pub"))

    try:
        save_signer(directory, new)
    except BaseException:
        undo()
        raise
    return retired, undo
