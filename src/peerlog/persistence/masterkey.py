"""The master key that wraps every person's key, from configuration.

* ``PEERLOG_MASTER_KEY``: the base64 encoding of 32 random bytes
  (``openssl rand -base64 32``);
* otherwise the key file named by ``PEERLOG_MASTER_KEY_FILE``, or by default
  ``$XDG_CONFIG_HOME/peerlog/master.key`` (``~/.config/peerlog/master.key``), holding
  the same base64 text. A missing file is created with a new random key, readable by
  its owner only (mode 0600), the first time a key is needed.

The key never reaches a message, a log or a ``repr``: errors say what is wrong with
the configuration, not what it holds.
"""

from __future__ import annotations

import binascii
import logging
import os
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from peerlog.i18n import lazy, os_reason
from peerlog.persistence.config import ConfigurationError

logger = logging.getLogger(__name__)

MASTER_KEY: Final = "PEERLOG_MASTER_KEY"
MASTER_KEY_FILE: Final = "PEERLOG_MASTER_KEY_FILE"
KEY_BYTES: Final = 32
_READ_ATTEMPTS: Final = 50
"""A key file another process is creating at this moment is read again after a pause."""


class MasterKeyError(ConfigurationError):
    """The master key is missing, malformed, or not the one the store's keys need."""


def default_master_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/peerlog/master.key``, or ``~/.config/peerlog/master.key``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "peerlog" / "master.key"


def master_key_path(environ: Mapping[str, str]) -> Path:
    """The key file used when ``PEERLOG_MASTER_KEY`` is not set."""
    named = environ.get(MASTER_KEY_FILE)
    return Path(named).expanduser() if named else default_master_key_path(environ)


def decode_master_key(text: str, where: str) -> bytes:
    """The key in ``text`` (base64 of 32 bytes); ``where`` names it in errors."""
    try:
        key = binascii.a2b_base64(text.strip().encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(
            lazy(
                "%(where)s must hold the base64 encoding of %(count)s random bytes "
                "(make one with: openssl rand -base64 32)",
                where=where,
                count=KEY_BYTES,
            )
        )
    return key


def load_master_key(environ: Mapping[str, str]) -> bytes:
    """The configured master key; a missing key file is created with a new key."""
    value = environ.get(MASTER_KEY)
    if value:
        return decode_master_key(value, MASTER_KEY)
    path = master_key_path(environ)
    for _ in range(_READ_ATTEMPTS):
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            _create(path)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise MasterKeyError(
                lazy(
                    "cannot read the master key file %(path)s: %(reason)s",
                    path=path,
                    reason=os_reason(exc) if isinstance(exc, OSError) else type(exc).__name__,
                )
            ) from None
        if not text:
            # Another process has created the file and is about to fill it.
            time.sleep(0.01)
            continue
        _warn_if_shared(path)
        return decode_master_key(text, lazy("the master key file %(path)s", path=path))
    raise MasterKeyError(
        lazy(
            "the master key file %(path)s stays empty; remove it or write a key into it", path=path
        )
    )


def _create(path: Path) -> None:
    """Write a new random key to ``path`` unless some other process has just done so."""
    try:
        if create_private_file(path, binascii.b2a_base64(secrets.token_bytes(KEY_BYTES)).decode()):
            logger.info("created a new master key file at %s", path)
    except OSError as exc:
        raise MasterKeyError(
            lazy(
                "cannot create the master key file %(path)s (%(reason)s); set "
                "%(variable)s or point %(file_variable)s at a writable place",
                path=path,
                reason=os_reason(exc),
                variable=MASTER_KEY,
                file_variable=MASTER_KEY_FILE,
            )
        ) from None


def create_private_file(path: Path, text: str) -> bool:
    """Write ``text`` to a new file readable by its owner only, unless the file exists;
    whether this call wrote it.

    The text is written to a private temporary file first and then linked into place,
    so a reader never sees a half-written key and two processes never write two keys.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _warn_if_shared(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "the master key file %s can be read by other users; make it private (chmod 600 %s)",
            path,
            path,
        )
