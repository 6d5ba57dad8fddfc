"""``peerlog tokens ...``: API tokens for the HTTP API and the dashboard."""

from __future__ import annotations

import click

from peerlog.cli.errors import Failed
from peerlog.cli.output import echo_json, format_option, table, when
from peerlog.cli.session import Session, pass_session
from peerlog.i18n import N_, _, ngettext, pgettext, shown_error
from peerlog.projections import StoreEvents
from peerlog.web.access import Scope
from peerlog.web.roster import Roster
from peerlog.web.tokens import Role, TokenError, Tokens

_MADE = {
    Role.STUDENT: N_("%(token)s: a student token for %(actor)s, reading %(where)s."),
    Role.SUPERVISOR: N_("%(token)s: a supervisor token for %(actor)s, reading %(where)s."),
    Role.COORDINATOR: N_("%(token)s: a coordinator token for %(actor)s, reading %(where)s."),
    Role.EXAMINER: N_("%(token)s: an examiner token for %(actor)s, reading %(where)s."),
}
"""What a new token is, in a sentence per role (the article goes with the role)."""


@click.group("tokens", short_help="API tokens for the HTTP API and the dashboard.")
def tokens_group() -> None:
    """API tokens: one per actor and role, for the HTTP API and the dashboard.

    A token stands for one actor (a student, supervisor or coordinator id of the
    record, or an examiner) in one role; what it may do follows from the role and from
    the record (docs/http.md). Only a digest of each token is stored.

    \b
    Example:
      peerlog tokens create sup-1-1 --role supervisor
      peerlog tokens list
    """


@tokens_group.command("create")
@click.argument("actor")
@click.option(
    "--role", type=click.Choice([str(r) for r in Role]), required=True, help="What it may do."
)
@click.option(
    "--course",
    "courses",
    multiple=True,
    metavar="COURSE",
    help="For an examiner: a course whose audits the token reads (repeat for more).",
)
@format_option("text", "json")
@pass_session
def create_command(
    session: Session, /, *, actor: str, role: str, courses: tuple[str, ...], fmt: str
) -> None:
    """Make a token for ACTOR and print it. It is shown only this once: give it to
    the person (a supervisor pastes it into the dashboard's login form; a client sends
    it as 'Authorization: Bearer ...').

    The token goes to standard output, alone (TOKEN=$(peerlog tokens create ...)); what
    it is, to standard error.

    \b
    Example:
      peerlog tokens create sup-1-1 --role supervisor
      peerlog tokens create ext-examiner --role examiner --course vfu-1
    """
    app = session.app()
    try:
        token, secret = Tokens.of(app).create(actor, role, courses)
    except TokenError as exc:
        raise Failed(shown_error(exc)) from None
    if fmt == "json":
        echo_json({"token": secret, **token.as_dict()})
    else:
        click.echo(secret)
    reach = Scope(token, Roster(StoreEvents(app)).refresh()).courses()
    where = (
        ngettext("courses %(courses)s", "courses %(courses)s", len(reach))
        % {"courses": ", ".join(reach)}
        if reach
        else _("nothing in the record yet")
    )
    made = {"token": token.token_id, "actor": token.actor, "where": where}
    click.echo(
        _(_MADE[token.role]) % made
        + " "
        + _("It is shown only this once; revoke it with 'peerlog tokens revoke %(token)s'.") % made,
        err=True,
    )


@tokens_group.command("revoke")
@click.argument("token_ids", nargs=-1, metavar="TOKEN_ID...")
@click.option("--actor", metavar="ACTOR", help="Revoke every token of this actor.")
@pass_session
def revoke_command(session: Session, /, *, token_ids: tuple[str, ...], actor: str | None) -> None:
    """Revoke tokens (by id, as 'peerlog tokens list' shows them), or all of an actor's.
    A revoked token is refused at once, and its dashboard sessions end.

    \b
    Example:
      peerlog tokens revoke tok-5f2a9c01e3b4
      peerlog tokens revoke --actor sup-1-1
    """
    if not token_ids and actor is None:
        raise click.UsageError(_("name the tokens to revoke, or --actor"))
    revoked = Tokens.of(session.app()).revoke(token_ids, actor=actor)
    if not revoked:
        raise Failed(_("no active token to revoke: see 'peerlog tokens list --all'"))
    for token_id in revoked:
        click.echo(_("revoked %(token)s") % {"token": token_id})


@tokens_group.command("list")
@click.option("--actor", metavar="ACTOR", help="Only this actor's tokens.")
@click.option("--all", "show_all", is_flag=True, help="Revoked tokens too.")
@format_option("text", "json")
@pass_session
def list_command(session: Session, /, *, actor: str | None, show_all: bool, fmt: str) -> None:
    """The tokens (never their secrets): id, actor, role, courses, when made and revoked.

    \b
    Example:
      peerlog tokens list
      peerlog tokens list --actor sup-1-1 --all --format json
    """
    tokens = [t for t in Tokens.of(session.app()).list(actor=actor) if show_all or t.active]
    if fmt == "json":
        echo_json([t.as_dict() for t in tokens])
        return
    if not tokens:
        click.echo(_("no tokens") if show_all else _("no tokens (--all shows revoked ones)"))
        return
    rows = [
        [
            t.token_id,
            t.actor,
            str(t.role),
            ", ".join(t.courses) or "-",
            when(t.created_at),
            when(t.revoked_at) if t.revoked_at else "-",
        ]
        for t in tokens
    ]
    headings = [
        pgettext("column", "token"),
        pgettext("column", "actor"),
        pgettext("column", "role"),
        pgettext("column", "courses"),
        pgettext("column", "created (UTC)"),
        pgettext("column", "revoked (UTC)"),
    ]
    click.echo(table(rows, headings))
