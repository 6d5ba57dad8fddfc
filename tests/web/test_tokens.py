"""API tokens and dashboard sessions: random secrets, stored only as digests, revocable."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from peerlog import PeerLog
from peerlog.cli import cli
from peerlog.web.tokens import SESSION_LIFETIME, Role, TokenError, Tokens, token_store_for
from tests.conftest import Store
from tests.support import FixedClock, Placement


def _raw_rows(store: Store, table: str) -> list[tuple[object, ...]]:
    return store.execute_raw(f"SELECT * FROM {table}")


def test_a_token_is_stored_only_as_its_digest(app: PeerLog, store: Store) -> None:
    tokens = Tokens.of(app)
    token, secret = tokens.create("sup1", "supervisor")
    assert secret.startswith("plg_")
    assert len(secret) == 4 + 43  # 32 random bytes, base64url
    rows = _raw_rows(store, "api_tokens")
    assert len(rows) == 1
    stored = repr(rows)
    assert secret not in stored
    assert secret[4:] not in stored
    assert hashlib.sha256(secret.encode()).digest() in [
        bytes(v) for v in rows[0] if isinstance(v, bytes | memoryview)
    ]
    assert tokens.authenticate(secret) == token
    assert token.actor == "sup1"
    assert token.role is Role.SUPERVISOR


def test_tokens_are_different_every_time(app: PeerLog) -> None:
    tokens = Tokens.of(app)
    made = [tokens.create("s1", "student") for _ in range(20)]
    assert len({secret for _, secret in made}) == 20
    assert len({token.token_id for token, _ in made}) == 20


def test_a_wrong_or_revoked_token_authenticates_nobody(app: PeerLog) -> None:
    tokens = Tokens.of(app)
    token, secret = tokens.create("s1", "student")
    assert tokens.authenticate(secret + "x") is None
    assert tokens.authenticate(secret[:-1]) is None
    assert tokens.authenticate("") is None
    assert tokens.authenticate("plg_" + "A" * 5000) is None
    assert tokens.revoke([token.token_id]) == [token.token_id]
    assert tokens.authenticate(secret) is None
    assert tokens.revoke([token.token_id]) == []  # revoked already


def test_revoking_an_actor_revokes_all_their_tokens_and_ends_their_sessions(app: PeerLog) -> None:
    tokens = Tokens.of(app)
    first, one = tokens.create("sup1", "supervisor")
    second, two = tokens.create("sup1", "supervisor")
    _, other = tokens.create("sup2", "supervisor")
    login = tokens.login(one)
    assert login is not None
    assert tokens.session(login[1]) == first
    assert tokens.revoke(actor="sup1") == sorted([first.token_id, second.token_id])
    assert tokens.session(login[1]) is None
    assert tokens.authenticate(two) is None
    assert tokens.authenticate(other) is not None
    listed = {t.token_id: t for t in tokens.list()}
    assert listed[first.token_id].revoked_at is not None
    assert listed[first.token_id].active is False


def test_a_session_expires_and_ends_at_logout(app: PeerLog) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    tokens = Tokens(token_store_for(app), clock=clock)
    token, secret = tokens.create("sup1", "supervisor")
    login = tokens.login(secret)
    assert login is not None
    _, session, expires_at = login
    assert session.startswith("pls_")
    assert expires_at == clock.now + SESSION_LIFETIME
    assert tokens.session(session) == token
    assert tokens.session(secret) is None  # a token is not a session
    clock.advance(hours=11, minutes=59)
    assert tokens.session(session) == token
    clock.advance(minutes=2)
    assert tokens.session(session) is None
    again = tokens.login(secret)
    assert again is not None
    tokens.logout(again[1])
    assert tokens.session(again[1]) is None
    assert tokens.login("plg_not-a-token") is None


@pytest.mark.parametrize(
    ("actor", "role", "courses", "message"),
    [
        ("sup 1", "supervisor", (), "the actor must be an id"),
        ("sup1\n", "supervisor", (), "the actor must be an id"),
        ("sup1", "admin", (), "unknown role 'admin'"),
        ("ext", "examiner", (), "an examiner token names the courses it audits"),
        ("coord", "coordinator", ("vfu-1",), "only examiner tokens name courses"),
        ("ext", "examiner", ("vfu 1",), "a course must be an id"),
    ],
)
def test_tokens_that_cannot_be_made(
    app: PeerLog, actor: str, role: str, courses: tuple[str, ...], message: str
) -> None:
    with pytest.raises(TokenError, match=message):
        Tokens.of(app).create(actor, role, courses)
    assert Tokens.of(app).list() == []


def test_the_cli_makes_lists_and_revokes_tokens(store: Store) -> None:
    runner = CliRunner()

    def peerlog(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), env=store.env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    code, out, err = peerlog("tokens", "create", "sup1", "--role", "supervisor")
    assert code == 0
    secret = out.strip()
    assert secret.startswith("plg_")
    assert out == secret + "\n"  # alone on standard output
    assert "a supervisor token for sup1, reading nothing in the record yet" in err
    assert "shown only this once" in err

    code, out, _ = peerlog(
        "tokens", "create", "ext1", "--role", "examiner", "--course", "vfu-1", "--format", "json"
    )
    assert code == 0
    made = json.loads(out)
    assert made["token"].startswith("plg_")
    assert (made["actor"], made["role"], made["courses"]) == ("ext1", "examiner", ["vfu-1"])

    code, out, _ = peerlog("tokens", "list")
    assert code == 0
    assert secret not in out
    assert made["token"] not in out
    lines = out.splitlines()
    assert lines[0].split() == [
        "token",
        "actor",
        "role",
        "courses",
        "created",
        "(UTC)",
        "revoked",
        "(UTC)",
    ]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["sup1", "supervisor"],
        ["ext1", "examiner"],
    ]

    code, out, _ = peerlog("tokens", "revoke", made["token_id"])
    assert (code, out) == (0, f"revoked {made['token_id']}\n")
    code, out, err = peerlog("tokens", "revoke", made["token_id"])
    assert code == 1
    assert "no active token to revoke" in err
    code, out, _ = peerlog("tokens", "list", "--all", "--format", "json")
    listed = json.loads(out)
    assert [t["revoked_at"] is None for t in listed] == [True, False]
    code, out, _ = peerlog("tokens", "revoke", "--actor", "sup1")
    assert code == 0
    assert out.startswith("revoked tok-")
    code, out, _ = peerlog("tokens", "list")
    assert out == "no tokens (--all shows revoked ones)\n"

    code, _, err = peerlog("tokens", "create", "x", "--role", "examiner")
    assert code == 1
    assert "an examiner token names the courses it audits (--course)" in err
    code, _, err = peerlog("tokens", "revoke")
    assert code == 2
    assert "name the tokens to revoke, or --actor" in err


def test_a_new_token_says_what_it_reads(app: PeerLog, store: Store) -> None:
    Placement(app).seed()
    result = CliRunner().invoke(
        cli,
        ["tokens", "create", "sup1", "--role", "supervisor"],
        env=store.env,
        catch_exceptions=False,
    )
    assert "a supervisor token for sup1, reading courses vfu-1" in result.stderr


def test_expired_sessions_are_cleared_at_the_next_login(app: PeerLog, store: Store) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    tokens = Tokens(token_store_for(app), clock=clock)
    _, secret = tokens.create("sup1", "supervisor")
    tokens.login(secret)
    clock.advance(hours=13)
    tokens.login(secret)
    assert len(_raw_rows(store, "web_sessions")) == 1
