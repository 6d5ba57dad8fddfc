"""The security headers of every answer, and the content security policy of a page
with charts.

The policy lets a page use only the server's own stylesheet and script. A chart is
pygal's SVG, inline in the page, with its styles in a ``<style>`` element of its own:
a page with charts allows exactly those styles, by their SHA-256 (CSP's hash sources),
and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable
from typing import Final

POLICY: Final = (
    "default-src 'none'; style-src 'self'{styles}; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
CSP: Final = b"content-security-policy"
SECURITY_HEADERS: Final = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (CSP, POLICY.format(styles="").encode()),
]
CHART_STYLE: Final = re.compile(rb'<style type="text/css">(.*?)</style>', re.DOTALL)
"""A ``<style>`` element as pygal writes it into a chart (the pages' templates have none)."""


def policy_for(page: bytes) -> str | None:
    """The policy for a page whose charts bring styles of their own (None without any)."""
    found = CHART_STYLE.findall(page)
    if not found:
        return None
    return POLICY.format(styles="".join(f" {_hash(text)}" for text in dict.fromkeys(found)))


def _hash(text: bytes) -> str:
    # The browser hashes the element's text as parsed: in inline SVG, entities decoded.
    parsed = html.unescape(text.decode()).encode()
    return "'sha256-" + base64.b64encode(hashlib.sha256(parsed).digest()).decode() + "'"


def with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An answer's headers with the security headers it does not set itself."""
    out = list(headers)
    own = {name.lower() for name, _ in out}
    return out + [(name, value) for name, value in SECURITY_HEADERS if name not in own]
