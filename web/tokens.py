"""API tokens and dashboard sessions, kept beside the record but not in it.

A token is a random secret (``plg_`` and 43 characters of base64url: 256 bits) that
stands for one actor in one role. Only its SHA-256 digest is stored, in the table
``api_tokens`` of the record's own database (the SQLite file, or the event store's
PostgreSQL schema, which the read-model role cannot read); the secret is shown once,
when it is created. A high-entropy secret needs no slow hash: nobody can guess one,
and a stolen digest does not give the secret back.

A dashboard login turns a token into a session: another random secret, sent as an
HTTP-only cookie, stored as a digest in ``web_sessions`` with the token it stands for
and when it expires. Revoking the token ends its sessions too; logging out deletes the
session.

A sign-in through the institution's identity provider (:mod:`peerlog.web.sso`) keeps
two more tables: ``sso_logins``, each attempt's state, nonce and PKCE verifier under the
digest of the attempt's cookie (taken, and so deleted, when the provider sends the
browser back: an attempt is answered once), and ``sso_sessions``, the sessions of people
signed in that way, under the digest of their cookie, with the person's id. Their role
is not stored: it is read from the record at each request.

No table is event-sourced: rows are deleted (sessions) or marked (revoked tokens).
SQL values are always parameters; PostgreSQL identifiers go through
:class:`psycopg.sql.Identifier`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from eventsourcing.persistence import IntegrityError
from psycopg import sql

from peerlog import PeerLog
from peerlog.domain.vocabulary import ID_RE, ID_RULE_TEXT
from peerlog.i18n import lazy
from peerlog.persistence.postgres import PostgresDatastore
from peerlog.persistence.sqlite import SQLiteDatastore, format_time, parse_time

TOKEN_PREFIX: Final = "plg_"
SESSION_PREFIX: Final = "pls_"
SSO_SESSION_PREFIX: Final = "plo_"
ATTEMPT_PREFIX: Final = "pla_"
SECRET_PREFIXES: Final = (TOKEN_PREFIX, SESSION_PREFIX, SSO_SESSION_PREFIX, ATTEMPT_PREFIX)
ATTEMPT_LIFETIME: Final = timedelta(minutes=10)
"""How long a sign-in at the identity provider may take."""
SESSION_LIFETIME: Final = timedelta(hours=12)
"""A dashboard session lasts a long shift; then the supervisor logs in again."""


class Role(StrEnum):
    """What a token may do, on top of what the record allows its actor."""

    STUDENT = "student"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    EXAMINER = "examiner"

    @property
    def named(self) -> str:
        """The role with its article, as a sentence says it: "an examiner"."""
        return f"{'an' if self.value[0] in 'aeiou' else 'a'} {self.value}"


class TokenError(ValueError):
    """A token cannot be created or revoked as asked (the message, a
    :class:`peerlog.i18n.Text`, is shown in the reader's language)."""


@dataclass(frozen=True)
class Token:
    """A token as stored (without its secret)."""

    token_id: str
    actor: str
    role: Role
    courses: tuple[str, ...]
    """For an examiner: the courses whose audits the token reads."""
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "actor": self.actor,
            "role": str(self.role),
            "courses": list(self.courses),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class Attempt:
    """A sign-in at the identity provider, as started: what its answer must match."""

    state: str
    nonce: str
    verifier: str


def digest(secret: str) -> bytes:
    """What is stored of a secret."""
    return hashlib.sha256(secret.encode()).digest()


class TokenStore(ABC):
    """The two tables, in one database."""

    @abstractmethod
    def create_tables(self) -> None: ...

    @abstractmethod
    def insert(self, token: Token, hashed: bytes) -> None:
        """Store a new token; IntegrityError if its id or digest is taken."""

    @abstractmethod
    def find(self, hashed: bytes) -> Token | None:
        """The token with this digest, revoked or not."""

    @abstractmethod
    def select(self, *, actor: str | None = None) -> list[Token]:
        """Every token (of one actor), oldest first."""

    @abstractmethod
    def revoke(self, token_ids: Sequence[str], when: datetime) -> list[str]:
        """Mark tokens revoked and delete their sessions; the ids that were active."""

    @abstractmethod
    def insert_session(
        self, hashed: bytes, token_id: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store a session (and drop expired ones)."""

    @abstractmethod
    def session(self, hashed: bytes, now: datetime) -> Token | None:
        """The token of an unexpired session."""

    @abstractmethod
    def delete_session(self, hashed: bytes) -> None: ...

    @abstractmethod
    def insert_attempt(
        self, hashed: bytes, attempt: Attempt, expires_at: datetime, now: datetime
    ) -> None:
        """Store a sign-in attempt (and drop expired ones)."""

    @abstractmethod
    def take_attempt(self, hashed: bytes, now: datetime) -> Attempt | None:
        """Delete an attempt and return it, if it had not expired."""

    @abstractmethod
    def insert_person_session(
        self, hashed: bytes, actor: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store the session of a person signed in at the identity provider."""

    @abstractmethod
    def person_session(self, hashed: bytes, now: datetime) -> str | None:
        """The person of an unexpired single sign-on session."""

    @abstractmethod
    def delete_person_session(self, hashed: bytes) -> None: ...


_COLUMNS: Final = "token_id, actor, role, courses, created_at, revoked_at"


class SQLiteTokenStore(TokenStore):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def create_tables(self) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS api_tokens (token_id TEXT PRIMARY KEY, "
                "digest BLOB NOT NULL UNIQUE, actor TEXT NOT NULL, role TEXT NOT NULL, "
                "courses TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions (digest BLOB PRIMARY KEY, "
                "token_id TEXT NOT NULL, expires_at TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS sso_logins (digest BLOB PRIMARY KEY, "
                "state TEXT NOT NULL, nonce TEXT NOT NULL, verifier TEXT NOT NULL, "
                "expires_at TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS sso_sessions (digest BLOB PRIMARY KEY, "
                "actor TEXT NOT NULL, expires_at TEXT NOT NULL)"
            )

    @staticmethod
    def _token(row: Sequence[Any]) -> Token:
        return Token(
            token_id=row[0],
            actor=row[1],
            role=Role(row[2]),
            courses=tuple(json.loads(row[3])),
            created_at=parse_time(row[4]),
            revoked_at=parse_time(row[5]) if row[5] else None,
        )

    def insert(self, token: Token, hashed: bytes) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO api_tokens (token_id, digest, actor, role, courses, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.token_id,
                    hashed,
                    token.actor,
                    str(token.role),
                    json.dumps(list(token.courses)),
                    format_time(token.created_at),
                ),
            )

    def find(self, hashed: bytes) -> Token | None:
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE digest = ?",  # noqa: S608
                (hashed,),
            ).fetchone()
        return self._token(row) if row else None

    def select(self, *, actor: str | None = None) -> list[Token]:
        statement = f"SELECT {_COLUMNS} FROM api_tokens"  # noqa: S608
        params: tuple[Any, ...] = ()
        if actor is not None:
            statement += " WHERE actor = ?"
            params = (actor,)
        with self.datastore.transaction(write=False) as conn:
            rows = conn.execute(statement + " ORDER BY created_at, token_id", params).fetchall()
        return [self._token(r) for r in rows]

    def revoke(self, token_ids: Sequence[str], when: datetime) -> list[str]:
        ids = json.dumps(list(token_ids))
        with self.datastore.transaction(write=True) as conn:
            rows = conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL "
                "AND token_id IN (SELECT value FROM json_each(?)) RETURNING token_id",
                (format_time(when), ids),
            ).fetchall()
            conn.execute(
                "DELETE FROM web_sessions WHERE token_id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        return sorted(r[0] for r in rows)

    def insert_session(
        self, hashed: bytes, token_id: str, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (format_time(now),))
            conn.execute(
                "INSERT INTO web_sessions (digest, token_id, expires_at) VALUES (?, ?, ?)",
                (hashed, token_id, format_time(expires_at)),
            )

    def session(self, hashed: bytes, now: datetime) -> Token | None:
        columns = ", ".join(f"t.{c}" for c in _COLUMNS.split(", "))
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {columns} FROM web_sessions s JOIN api_tokens t "  # noqa: S608
                "ON t.token_id = s.token_id WHERE s.digest = ? AND s.expires_at > ?",
                (hashed, format_time(now)),
            ).fetchone()
        return self._token(row) if row else None

    def delete_session(self, hashed: bytes) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("DELETE FROM web_sessions WHERE digest = ?", (hashed,))

    def insert_attempt(
        self, hashed: bytes, attempt: Attempt, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("DELETE FROM sso_logins WHERE expires_at <= ?", (format_time(now),))
            conn.execute(
                "INSERT INTO sso_logins (digest, state, nonce, verifier, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (hashed, attempt.state, attempt.nonce, attempt.verifier, format_time(expires_at)),
            )

    def take_attempt(self, hashed: bytes, now: datetime) -> Attempt | None:
        with self.datastore.transaction(write=True) as conn:
            row = conn.execute(
                "DELETE FROM sso_logins WHERE digest = ? "
                "RETURNING state, nonce, verifier, expires_at",
                (hashed,),
            ).fetchone()
        if row is None or parse_time(row[3]) <= now:
            return None
        return Attempt(row[0], row[1], row[2])

    def insert_person_session(
        self, hashed: bytes, actor: str, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("DELETE FROM sso_sessions WHERE expires_at <= ?", (format_time(now),))
            conn.execute(
                "INSERT INTO sso_sessions (digest, actor, expires_at) VALUES (?, ?, ?)",
                (hashed, actor, format_time(expires_at)),
            )

    def person_session(self, hashed: bytes, now: datetime) -> str | None:
        with self.datastore.transaction(write=False) as conn:
            row = conn.execute(
                "SELECT actor FROM sso_sessions WHERE digest = ? AND expires_at > ?",
                (hashed, format_time(now)),
            ).fetchone()
        return str(row[0]) if row else None

    def delete_person_session(self, hashed: bytes) -> None:
        with self.datastore.transaction(write=True) as conn:
            conn.execute("DELETE FROM sso_sessions WHERE digest = ?", (hashed,))


class PostgresTokenStore(TokenStore):
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self.tokens = datastore.identifier("api_tokens")
        self.sessions = datastore.identifier("web_sessions")
        self.attempts = datastore.identifier("sso_logins")
        self.person_sessions = datastore.identifier("sso_sessions")
        # Composed once: every API request looks its token up.
        self._find = (
            sql.SQL("SELECT {} FROM {} WHERE digest = %s")
            .format(self._columns(), self.tokens)
            .as_bytes(None)
        )

    def create_tables(self) -> None:
        self.datastore.create(
            [
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (token_id text PRIMARY KEY, "
                    "digest bytea NOT NULL UNIQUE, actor text NOT NULL, role text NOT NULL, "
                    "courses jsonb NOT NULL, created_at timestamptz NOT NULL, "
                    "revoked_at timestamptz)"
                ).format(self.tokens),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (digest bytea PRIMARY KEY, "
                    "token_id text NOT NULL, expires_at timestamptz NOT NULL)"
                ).format(self.sessions),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (digest bytea PRIMARY KEY, "
                    "state text NOT NULL, nonce text NOT NULL, verifier text NOT NULL, "
                    "expires_at timestamptz NOT NULL)"
                ).format(self.attempts),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (digest bytea PRIMARY KEY, "
                    "actor text NOT NULL, expires_at timestamptz NOT NULL)"
                ).format(self.person_sessions),
            ]
        )

    @staticmethod
    def _token(row: Sequence[Any]) -> Token:
        return Token(
            token_id=row[0],
            actor=row[1],
            role=Role(row[2]),
            courses=tuple(row[3]),
            created_at=row[4],
            revoked_at=row[5],
        )

    def _columns(self, alias: str = "") -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c))
            if alias
            else sql.Identifier(c)
            for c in _COLUMNS.split(", ")
        )

    def insert(self, token: Token, hashed: bytes) -> None:
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (token_id, digest, actor, role, courses, created_at) "
                    "VALUES (%s, %s, %s, %s, %s::jsonb, %s)"
                ).format(self.tokens),
                (
                    token.token_id,
                    hashed,
                    token.actor,
                    str(token.role),
                    json.dumps(list(token.courses)),
                    token.created_at,
                ),
            )

    def find(self, hashed: bytes) -> Token | None:
        with self.datastore.connection() as conn:
            row = conn.execute(self._find, (hashed,), prepare=True).fetchone()
        return self._token(row) if row else None

    def select(self, *, actor: str | None = None) -> list[Token]:
        statement = sql.SQL("SELECT {} FROM {}").format(self._columns(), self.tokens)
        params: tuple[Any, ...] = ()
        if actor is not None:
            statement += sql.SQL(" WHERE actor = %s")
            params = (actor,)
        statement += sql.SQL(" ORDER BY created_at, token_id")
        with self.datastore.connection() as conn:
            rows = conn.execute(statement, params).fetchall()
        return [self._token(r) for r in rows]

    def revoke(self, token_ids: Sequence[str], when: datetime) -> list[str]:
        with self.datastore.transaction() as conn:
            rows = conn.execute(
                sql.SQL(
                    "UPDATE {} SET revoked_at = %s WHERE revoked_at IS NULL "
                    "AND token_id = ANY(%s) RETURNING token_id"
                ).format(self.tokens),
                (when, list(token_ids)),
            ).fetchall()
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE token_id = ANY(%s)").format(self.sessions),
                (list(token_ids),),
            )
        return sorted(r[0] for r in rows)

    def insert_session(
        self, hashed: bytes, token_id: str, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE expires_at <= %s").format(self.sessions), (now,)
            )
            conn.execute(
                sql.SQL("INSERT INTO {} (digest, token_id, expires_at) VALUES (%s, %s, %s)").format(
                    self.sessions
                ),
                (hashed, token_id, expires_at),
            )

    def session(self, hashed: bytes, now: datetime) -> Token | None:
        with self.datastore.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT {} FROM {} s JOIN {} t ON t.token_id = s.token_id "
                    "WHERE s.digest = %s AND s.expires_at > %s"
                ).format(self._columns("t"), self.sessions, self.tokens),
                (hashed, now),
                prepare=True,
            ).fetchone()
        return self._token(row) if row else None

    def delete_session(self, hashed: bytes) -> None:
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE digest = %s").format(self.sessions), (hashed,)
            )

    def insert_attempt(
        self, hashed: bytes, attempt: Attempt, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE expires_at <= %s").format(self.attempts), (now,)
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (digest, state, nonce, verifier, expires_at) "
                    "VALUES (%s, %s, %s, %s, %s)"
                ).format(self.attempts),
                (hashed, attempt.state, attempt.nonce, attempt.verifier, expires_at),
            )

    def take_attempt(self, hashed: bytes, now: datetime) -> Attempt | None:
        with self.datastore.transaction() as conn:
            row = conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE digest = %s RETURNING state, nonce, verifier, expires_at"
                ).format(self.attempts),
                (hashed,),
            ).fetchone()
        if row is None or row[3] <= now:
            return None
        return Attempt(row[0], row[1], row[2])

    def insert_person_session(
        self, hashed: bytes, actor: str, expires_at: datetime, now: datetime
    ) -> None:
        with self.datastore.transaction() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE expires_at <= %s").format(self.person_sessions),
                (now,),
            )
            conn.execute(
                sql.SQL("INSERT INTO {} (digest, actor, expires_at) VALUES (%s, %s, %s)").format(
                    self.person_sessions
                ),
                (hashed, actor, expires_at),
            )

    def person_session(self, hashed: bytes, now: datetime) -> str | None:
        with self.datastore.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT actor FROM {} WHERE digest = %s AND expires_at > %s").format(
                    self.person_sessions
                ),
                (hashed, now),
                prepare=True,
            ).fetchone()
        return str(row[0]) if row else None

    def delete_person_session(self, hashed: bytes) -> None:
        with self.datastore.connection() as conn:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE digest = %s").format(self.person_sessions),
                (hashed,),
            )


def token_store_for(app: PeerLog) -> TokenStore:
    """The token tables in the database of the application's record (created if missing)."""
    datastore = getattr(app.store, "datastore", None)
    store: TokenStore
    if isinstance(datastore, SQLiteDatastore):
        store = SQLiteTokenStore(datastore)
    elif isinstance(datastore, PostgresDatastore):
        store = PostgresTokenStore(datastore)
    else:
        msg = f"peerlog keeps no tokens with {type(app.store).__name__}"
        raise TypeError(msg)
    store.create_tables()
    return store


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Tokens:
    """Creating, checking and revoking tokens; logging in and out of the dashboard."""

    def __init__(self, store: TokenStore, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.store = store
        self.clock = clock

    @classmethod
    def of(cls, app: PeerLog) -> Tokens:
        return cls(token_store_for(app))

    def create(
        self, actor: str, role: Role | str, courses: Sequence[str] = ()
    ) -> tuple[Token, str]:
        """A new token and its secret (shown once, never stored)."""
        try:
            role = Role(role)
        except ValueError:
            msg = lazy(
                "unknown role '%(role)s'; the roles are: %(roles)s",
                role=str(role),
                roles=tuple(str(r) for r in Role),
            )
            raise TokenError(msg) from None
        for value, what in [(actor, lazy("the actor")), *((c, lazy("a course")) for c in courses)]:
            if not ID_RE.fullmatch(value):
                msg = lazy("%(what)s must be an id: %(rule)s", what=what, rule=lazy(ID_RULE_TEXT))
                raise TokenError(msg)
        if role is Role.EXAMINER and not courses:
            raise TokenError(lazy("an examiner token names the courses it audits (--course)"))
        if role is not Role.EXAMINER and courses:
            msg = lazy(
                "only examiner tokens name courses; a %(role)s's courses follow from the record",
                role=str(role),
            )
            raise TokenError(msg)
        for _ in range(5):
            secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
            token = Token(
                token_id="tok-" + secrets.token_hex(6),
                actor=actor,
                role=role,
                courses=tuple(dict.fromkeys(courses)),
                created_at=self.clock(),
            )
            try:
                self.store.insert(token, digest(secret))
            except IntegrityError:  # pragma: no cover - 48 random bits clashed
                continue
            return token, secret
        msg = lazy("could not find a free token id")  # pragma: no cover
        raise TokenError(msg)  # pragma: no cover

    def authenticate(self, secret: str) -> Token | None:
        """The active token this secret stands for, or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        token = self.store.find(digest(secret))
        return token if token is not None and token.active else None

    def revoke(self, token_ids: Sequence[str] = (), *, actor: str | None = None) -> list[str]:
        """Revoke tokens by id, or all of an actor's; the ids revoked now."""
        ids = list(token_ids)
        if actor is not None:
            ids += [t.token_id for t in self.store.select(actor=actor) if t.active]
        if not ids:
            return []
        return self.store.revoke(ids, self.clock())

    def list(self, *, actor: str | None = None) -> list[Token]:
        return self.store.select(actor=actor)

    def login(self, secret: str) -> tuple[Token, str, datetime] | None:
        """A dashboard session for a token: the token, the session's secret and when it
        expires; None if the token is not active."""
        token = self.authenticate(secret)
        if token is None:
            return None
        session = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        expires_at = now + SESSION_LIFETIME
        self.store.insert_session(digest(session), token.token_id, expires_at, now)
        return token, session, expires_at

    def session(self, secret: str) -> Token | None:
        """The active token of an unexpired session."""
        if not secret.startswith(SESSION_PREFIX) or len(secret) > 200:
            return None
        token = self.store.session(digest(secret), self.clock())
        return token if token is not None and token.active else None

    def logout(self, secret: str) -> None:
        """End a dashboard session, whichever way it was opened."""
        if len(secret) > 200:
            return
        if secret.startswith(SESSION_PREFIX):
            self.store.delete_session(digest(secret))
        elif secret.startswith(SSO_SESSION_PREFIX):
            self.store.delete_person_session(digest(secret))

    # --- single sign-on (peerlog.web.sso) ------------------------------------------------

    def begin_attempt(self, attempt: Attempt) -> str:
        """Keep a sign-in attempt; the secret of the cookie that finds it again."""
        secret = ATTEMPT_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        self.store.insert_attempt(digest(secret), attempt, now + ATTEMPT_LIFETIME, now)
        return secret

    def take_attempt(self, secret: str) -> Attempt | None:
        """The attempt this cookie started, once: taking it deletes it."""
        if not secret.startswith(ATTEMPT_PREFIX) or len(secret) > 200:
            return None
        return self.store.take_attempt(digest(secret), self.clock())

    def sign_in(self, actor: str) -> tuple[str, datetime]:
        """A dashboard session for a person the identity provider vouched for: its
        secret and when it expires."""
        session = SSO_SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        expires_at = now + SESSION_LIFETIME
        self.store.insert_person_session(digest(session), actor, expires_at, now)
        return session, expires_at

    def person_of(self, secret: str) -> str | None:
        """The person of an unexpired single sign-on session."""
        if not secret.startswith(SSO_SESSION_PREFIX) or len(secret) > 200:
            return None
        return self.store.person_session(digest(secret), self.clock())
