"""The key that signs the record's checkpoints, from configuration (like the master key).

* ``PEERLOG_CHECKPOINT_KEY``: the signer key itself, ``PRIVATE+KEY+<name>+...`` (as
  ``peerlog checkpoint key --create`` writes it);
* otherwise the key file named by ``PEERLOG_CHECKPOINT_KEY_FILE``, or by default
  ``$XDG_CONFIG_HOME/peerlog/checkpoint.key`` (``~/.config/peerlog/checkpoint.key``).
  A missing file is created with a new Ed25519 key, readable by its owner only, the
  first time a checkpoint is signed. Its name, which is also the checkpoints' origin
  line, is ``PEERLOG_CHECKPOINT_ORIGIN`` or ``<host name>/peerlog``.

The private key never reaches a message or a log; its public half is printed by
``peerlog checkpoint key``, to publish.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from peerlog.i18n import Text, lazy
from peerlog.integrity.notes import NoteError, Signer
from peerlog.persistence.config import ConfigurationError
from peerlog.persistence.masterkey import create_private_file

CHECKPOINT_KEY: Final = "PEERLOG_CHECKPOINT_KEY"
CHECKPOINT_KEY_FILE: Final = "PEERLOG_CHECKPOINT_KEY_FILE"
CHECKPOINT_ORIGIN: Final = "PEERLOG_CHECKPOINT_ORIGIN"


class SigningKeyError(ConfigurationError):
    """The checkpoint signing key is missing or malformed."""


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "peerlog" / "checkpoint.key"


def key_path(environ: Mapping[str, str]) -> Path:
    named = environ.get(CHECKPOINT_KEY_FILE)
    return Path(named).expanduser() if named else default_key_path(environ)


def default_origin(environ: Mapping[str, str]) -> str:
    return environ.get(CHECKPOINT_ORIGIN) or f"{socket.gethostname() or 'localhost'}/peerlog"


def _parse(text: str, where: str | Text) -> Signer:
    try:
        return Signer.parse(text)
    except NoteError as exc:
        msg = lazy(
            "%(where)s does not hold a checkpoint signing key: %(error)s",
            where=where,
            error=exc.args[0],
        )
        raise SigningKeyError(msg) from None


def load_signer(environ: Mapping[str, str], *, create: bool = True) -> Signer:
    """The configured signing key; a missing key file is created (with ``create``)."""
    value = environ.get(CHECKPOINT_KEY)
    if value:
        return _parse(value, CHECKPOINT_KEY)
    path = key_path(environ)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        if not create:
            msg = lazy("there is no checkpoint signing key at %(path)s", path=str(path))
            raise SigningKeyError(msg) from None
        write_key(path, Signer.generate(_origin(environ)))
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        msg = lazy(
            "cannot read the checkpoint key file %(path)s: %(error)s",
            path=str(path),
            error=type(exc).__name__,
        )
        raise SigningKeyError(msg) from None
    return _parse(text, lazy("the checkpoint key file %(path)s", path=str(path)))


def _origin(environ: Mapping[str, str]) -> str:
    origin = default_origin(environ)
    try:
        Signer.generate(origin)
    except NoteError as exc:
        msg = lazy("%(name)s: %(error)s", name=CHECKPOINT_ORIGIN, error=exc.args[0])
        raise SigningKeyError(msg) from None
    return origin


def write_key(path: Path, signer: Signer) -> bool:
    """Write a new key file (never over an existing one); whether it was written."""
    try:
        return create_private_file(path, str(signer) + "\n")
    except OSError as exc:
        msg = lazy(
            "cannot create the key file %(path)s (%(error)s)",
            path=str(path),
            error=type(exc).__name__,
        )
        raise SigningKeyError(msg) from None
