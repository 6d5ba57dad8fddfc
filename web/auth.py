"""Who is asking: the API takes ``Authorization: Bearer <token>``; the dashboard takes
its session cookie (opened with a token, or by single sign-on)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from peerlog.i18n import lazy
from peerlog.web.access import Scope
from peerlog.web.errors import ApiError, unauthenticated
from peerlog.web.services import Services, services
from peerlog.web.sso import role_in_record
from peerlog.web.tokens import SSO_SESSION_PREFIX, Token

SESSION_COOKIE: Final = "peerlog_session"
SSO_TOKEN_ID: Final = "single-sign-on"
"""What stands for a token in the scope of a person signed in by single sign-on."""

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token, created with `peerlog tokens create ACTOR --role ROLE`.",
)


def api_token(
    found: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Token:
    if credentials is None:
        raise unauthenticated("send an API token: 'Authorization: Bearer plg_...'")
    token = found.tokens.authenticate(credentials.credentials)
    if token is None:
        raise unauthenticated("the token is not valid, or it was revoked")
    return token


def scope_of(token: Token, found: Services) -> Scope:
    scope = Scope(token, found.roster.refresh())
    if scope.forgotten:
        raise ApiError(
            403,
            "authorization",
            "person_forgotten",
            lazy(
                "'%(actor)s' was forgotten: their personal data was erased and the record is "
                "closed to them",
                actor=token.actor,
            ),
        )
    return scope


def api_scope(
    token: Annotated[Token, Depends(api_token)], found: Annotated[Services, Depends(services)]
) -> Scope:
    return scope_of(token, found)


def session_token(request: Request, found: Services) -> Token | None:
    """The token behind the dashboard's session cookie, if the session is valid. A
    session opened by single sign-on stands for its person in the role the record gives
    them now (:func:`~peerlog.web.sso.role_in_record`)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    if not secret.startswith(SSO_SESSION_PREFIX):
        return found.tokens.session(secret)
    person = found.tokens.person_of(secret)
    if person is None:
        return None
    role = role_in_record(found.roster.refresh(), person)
    if role is None:  # pragma: no cover - the record takes no role away
        return None
    return Token(SSO_TOKEN_ID, person, role, (), found.now())
