"""Reading the keys and checkpoints that users give on the command line."""

from __future__ import annotations

from pathlib import Path

from peerlog.cli.errors import Failed, reason
from peerlog.i18n import N_, _, shown_error
from peerlog.integrity.notes import NoteError, Verifier


def verifier_key(value: str, *, what: str = "--key") -> Verifier:
    """A verifier key given as itself (NAME+ID+KEY) or as a file holding it."""
    text = value
    if "+" not in value or Path(value).is_file():
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise Failed(
                _("%(option)s: cannot read the key file %(file)s: %(problem)s")
                % {"option": what, "file": value, "problem": reason(exc)}
            ) from None
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        raise Failed(f"{what}: {shown_error(exc)}") from None


def read_text(path: Path, what: str) -> str:
    """The text of the file ``path``; ``what`` (marked with ``N_``) names it in a failure."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Failed(
            _("cannot read %(what)s %(file)s: %(problem)s")
            % {"what": _(what), "file": path, "problem": reason(exc)}
        ) from None


KEY_HELP = N_(
    "The record's checkpoint key (NAME+ID+KEY, as 'peerlog checkpoint key' prints it, "
    "or a file holding it)."
)
WITNESS_HELP = N_(
    "Also require a cosignature by this witness key (NAME+ID+KEY or a file); may be repeated."
)
