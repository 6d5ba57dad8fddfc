"""Single sign-on: people sign in to the dashboard through their institution's OpenID
Connect provider (the authorization code flow with PKCE, by Authlib).

Set up by settings (environment variables, like every ``PEERLOG_*`` setting):

* ``PEERLOG_OIDC_ISSUER``: the provider's issuer URL (its discovery document is read
  from ``ISSUER/.well-known/openid-configuration``, and must name the same issuer);
* ``PEERLOG_OIDC_CLIENT_ID`` and ``PEERLOG_OIDC_CLIENT_SECRET``: peerlog as a client
  of the provider;
* ``PEERLOG_OIDC_CLAIM``: the claim that holds a person's id in the record (``sub`` by
  default; ``email``, or an institution's own claim). ``PEERLOG_OIDC_DOMAIN`` takes the
  domain off a value such as ``anna.berg@region.example`` (only that domain is let in);
* ``PEERLOG_OIDC_REDIRECT_URI``: where the provider sends people back (by default the
  server's own ``/login/sso/callback``, as the request reached it);
* ``PEERLOG_OIDC_SCOPES`` (``openid email`` by default) and ``PEERLOG_OIDC_NAME``, the
  provider's name on the login page.

The provider says who someone is; the record says what they are. A person's role comes
from the record as it stands (:func:`role_in_record`), never from the provider's claims.

Each sign-in is an attempt kept server-side (:meth:`Tokens.begin_attempt`): a random
``state``, ``nonce`` and PKCE verifier, found again by a cookie of the browser that
started it, and taken (deleted) when the provider answers, so an answer is accepted
once. The id token is checked against the provider's published keys, the configured
issuer, this client as its audience, the attempt's nonce and its expiry; any mismatch
refuses the sign-in with a page that says which check failed.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from peerlog.domain.vocabulary import ID_RE
from peerlog.i18n import lazy
from peerlog.persistence.config import ConfigurationError
from peerlog.web.roster import Roster
from peerlog.web.tokens import Attempt, Role

ISSUER: Final = "PEERLOG_OIDC_ISSUER"
CLIENT_ID: Final = "PEERLOG_OIDC_CLIENT_ID"
CLIENT_SECRET: Final = "PEERLOG_OIDC_CLIENT_SECRET"
CLAIM: Final = "PEERLOG_OIDC_CLAIM"
DOMAIN: Final = "PEERLOG_OIDC_DOMAIN"
REDIRECT_URI: Final = "PEERLOG_OIDC_REDIRECT_URI"
SCOPES: Final = "PEERLOG_OIDC_SCOPES"
NAME: Final = "PEERLOG_OIDC_NAME"
CALLBACK_PATH: Final = "/login/sso/callback"
LEEWAY_SECONDS: Final = 60
"""How far the provider's clock and ours may differ for ``exp``, ``iat`` and ``nbf``."""
HTTP_SECONDS: Final = 10.0
_ERROR_CODE: Final = re.compile(r"[a-z_]{1,40}")


class SignInRefused(Exception):
    """A sign-in through the provider that did not succeed: what to tell the person."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SsoSettings:
    issuer: str
    client_id: str
    client_secret: str
    claim: str = "sub"
    domain: str | None = None
    redirect_uri: str | None = None
    scopes: str = "openid email"
    name: str = "your institution"

    @classmethod
    def of(cls, settings: Mapping[str, str]) -> SsoSettings | None:
        """The settings, or None when no issuer is set (sign-in with tokens only)."""
        issuer = settings.get(ISSUER, "").strip()
        if not issuer:
            return None
        if not issuer.startswith(("https://", "http://")):
            raise ConfigurationError(
                lazy(
                    "%(name)s is the provider's issuer URL (https://...), not %(value)s",
                    name=ISSUER,
                    value=repr(issuer),
                )
            )
        client_id = settings.get(CLIENT_ID, "").strip()
        if not client_id:
            raise ConfigurationError(
                lazy(
                    "%(name)s is set: %(client)s (and %(secret)s) must be set too",
                    name=ISSUER,
                    client=CLIENT_ID,
                    secret=CLIENT_SECRET,
                )
            )
        scopes = settings.get(SCOPES, "").strip() or "openid email"
        if "openid" not in scopes.split():
            raise ConfigurationError(
                lazy(
                    "%(name)s must include 'openid', not %(value)s", name=SCOPES, value=repr(scopes)
                )
            )
        return cls(
            issuer=issuer,
            client_id=client_id,
            client_secret=settings.get(CLIENT_SECRET, ""),
            claim=settings.get(CLAIM, "").strip() or "sub",
            domain=settings.get(DOMAIN, "").strip().lstrip("@") or None,
            redirect_uri=settings.get(REDIRECT_URI, "").strip() or None,
            scopes=scopes,
            name=settings.get(NAME, "").strip() or "your institution",
        )


def role_in_record(roster: Roster, person: str) -> Role | None:
    """The role the record gives a person, the most far-reaching first: a coordinator of
    a course, a supervisor (of a pair, or assigned to a course), a student enrolled in a
    course; None for a person the record does not know. (A person forgotten keeps the
    role, and reads nothing: see :func:`peerlog.web.auth.scope_of`.) Examiners are not
    in the record: they are given tokens naming their courses."""
    if roster.courses_where(coordinator=person):
        return Role.COORDINATOR
    if roster.pairs_where(supervisor=person) or roster.courses_where(supervisor=person):
        return Role.SUPERVISOR
    if roster.courses_where(student=person):
        return Role.STUDENT
    return None


def _id_token_problem(exc: JoseError) -> str:
    """What was wrong with an id token, in words (never its contents)."""
    if isinstance(exc, ExpiredTokenError):
        return "it has expired"
    if isinstance(exc, MissingClaimError):
        return f"it has no '{exc.claim}' claim"
    if isinstance(exc, ClaimError):
        return {
            "iss": "it was issued by another provider than the one configured",
            "aud": "it was issued to another client than this server",
            "azp": "it was issued to another client than this server",
            "nonce": "it does not belong to this sign-in (its nonce differs: an answer "
            "replayed from another sign-in)",
            "iat": "it says it was issued in the future",
            "nbf": "it is not valid yet",
        }.get(exc.claim, f"its '{exc.claim}' claim is not valid")
    if isinstance(exc, BadSignatureError):
        return "its signature was not made with the provider's keys"
    return "it is not a valid signed token"


@dataclass
class SingleSignOn:
    """The provider, as discovered from its issuer URL, and the checks of its answers."""

    settings: SsoSettings
    leeway: int = LEEWAY_SECONDS
    _metadata: dict[str, Any] | None = field(default=None, repr=False)
    _keys: KeySet | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _client(self, redirect_uri: str | None = None) -> Any:
        return OAuth2Session(
            self.settings.client_id,
            self.settings.client_secret,
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        with self._client() as client:
            response = client.get(url, timeout=HTTP_SECONDS, withhold_token=True)
            response.raise_for_status()
            data = response.json()
        if not isinstance(data, dict):
            raise SignInRefused(502, "provider_unreachable", "the provider's answer is not JSON")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (read once)."""
        with self._lock:
            if self._metadata is None:
                url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    found = self._get_json(url)
                except (OSError, ValueError):
                    raise SignInRefused(
                        502,
                        "provider_unreachable",
                        f"{self.settings.name}'s sign-in service cannot be reached just now; "
                        "try again in a moment, or log in with a token",
                    ) from None
                if found.get("issuer") != self.settings.issuer:
                    raise SignInRefused(
                        502,
                        "provider_misconfigured",
                        "the provider's discovery document names another issuer than "
                        f"{ISSUER}: the server's single sign-on is set up wrongly",
                    )
                self._metadata = found
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys (read again when a token names a key not seen)."""
        if self._keys is None or refresh:
            try:
                self._keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
            except (OSError, ValueError, KeyError, JoseError):
                raise SignInRefused(
                    502, "provider_unreachable", "the provider's signing keys cannot be read"
                ) from None
        return self._keys

    def start(self, redirect_uri: str) -> tuple[Attempt, str]:
        """A new attempt and the provider's URL to send the browser to."""
        attempt = Attempt(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
        )
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"],
                state=attempt.state,
                nonce=attempt.nonce,
                code_verifier=attempt.verifier,
            )
        return attempt, str(url)

    def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an id token that passes every check; SignInRefused otherwise."""
        algorithms = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"]
        registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, self.keys(), registry=registry)
            except InvalidKeyIdError:
                token = jwt.decode(id_token, self.keys(refresh=True), registry=registry)
            claims = dict(token.claims)
            checks = jwt.JWTClaimsRegistry(
                leeway=self.leeway,
                iss={"essential": True, "value": self.settings.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            checks.validate(claims)
            azp = claims.get("azp")
            if azp is not None and azp != self.settings.client_id:
                raise InvalidClaimError("azp")
        except (JoseError, ValueError) as exc:
            problem = _id_token_problem(exc) if isinstance(exc, JoseError) else None
            raise SignInRefused(
                401,
                "id_token_refused",
                "the identity provider's answer was refused: "
                + (problem or "it is not a valid signed token"),
            ) from None
        return claims

    def finish(
        self,
        attempt: Attempt | None,
        params: Mapping[str, str],
        redirect_uri: str,
        *,
        known: Callable[[str], bool],
    ) -> str:
        """The person id a provider's answer signs in; SignInRefused otherwise."""
        error = params.get("error")
        if error:
            shown = error if _ERROR_CODE.fullmatch(error) else "an error"
            raise SignInRefused(
                401, "provider_refused", f"{self.settings.name} did not sign you in ({shown})"
            )
        if attempt is None:
            raise SignInRefused(
                400,
                "attempt_unknown",
                "this sign-in was already used, has expired or was started in another "
                "browser; sign in again",
            )
        if not secrets.compare_digest(params.get("state", ""), attempt.state):
            raise SignInRefused(
                400, "state_mismatch", "the provider's answer does not belong to this sign-in"
            )
        code = params.get("code", "")
        if not code:
            raise SignInRefused(400, "no_code", "the provider's answer carries no code")
        with self._client(redirect_uri) as client:
            try:
                answer = client.fetch_token(
                    self.metadata()["token_endpoint"],
                    code=code,
                    code_verifier=attempt.verifier,
                    grant_type="authorization_code",
                    timeout=HTTP_SECONDS,
                )
            except (OSError, ValueError, Exception) as exc:  # noqa: BLE001 - Authlib's OAuthError
                del exc
                raise SignInRefused(
                    401,
                    "code_refused",
                    "the provider did not exchange the sign-in's code (used already, or "
                    "expired); sign in again",
                ) from None
            id_token = answer.get("id_token")
            if not isinstance(id_token, str):
                raise SignInRefused(401, "no_id_token", "the provider sent no id token")
            claims = self.check_id_token(id_token, attempt.nonce)
            value = claims.get(self.settings.claim)
            if value is None and "userinfo_endpoint" in self.metadata():
                value = self._from_userinfo(client, claims["sub"])
        return self.person_id(value, known=known)

    def _from_userinfo(self, client: Any, subject: str) -> Any:
        """The claim from the provider's userinfo (where providers put most claims), if
        it speaks of the id token's subject."""
        try:
            response = client.get(self.metadata()["userinfo_endpoint"], timeout=HTTP_SECONDS)
            response.raise_for_status()
            info = response.json()
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict) or info.get("sub") != subject:
            return None
        return info.get(self.settings.claim)

    def person_id(self, value: Any, *, known: Callable[[str], bool]) -> str:
        """The record's id for a claim's value, if the record knows that person."""
        claim = self.settings.claim
        if not isinstance(value, str) or not value:
            raise SignInRefused(
                403,
                "no_person_claim",
                f"the provider did not say who you are in the '{claim}' claim peerlog "
                "is set up to read",
            )
        person = value
        if self.settings.domain is not None:
            name, at, domain = value.rpartition("@")
            if at and domain.lower() == self.settings.domain.lower():
                person = name
        if not ID_RE.fullmatch(person) or not known(person):
            raise SignInRefused(
                403,
                "person_unknown",
                "you signed in, but the record does not know you: nobody made you a "
                "coordinator, supervisor or student of a course under that name. Ask your "
                "course's coordinator to add you.",
            )
        return person
