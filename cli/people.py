"""`pelihara people ...`: the people of pelihara.toml, their roles, who pelihara takes you for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import console, print_json, print_table, wide_option
from pelihara.core.errors import PeliharaError

if TYPE_CHECKING:
    from pelihara.maintenance.actor import Identity
    from pelihara.maintenance.people import People, Person

COLUMNS = ("you", "name", "NIP", "roles", "OPD", "identified by", "email", "phone")


def _identity(app: App) -> Identity:
    """Who runs this: the OS user, and on PostgreSQL the database's login role (one query)."""
    from sqlalchemy.engine import make_url

    from pelihara.maintenance.actor import Identity, identity, running_os_user

    if make_url(app.url).get_backend_name() != "postgresql":
        return Identity(running_os_user())
    with app.engine(read_only=True).connect() as connection:
        return identity(connection)


def _load(app: App) -> People:
    from pelihara.maintenance.people import load_people

    return load_people(app.config)


def _you(app: App, people: People) -> tuple[Person | None, str]:
    """The configured person who runs this, or None and why not."""
    from pelihara.maintenance.actor import establish

    try:
        return establish(people, _identity(app)), ""
    except PeliharaError as exc:
        return None, str(exc)


def _row(person: Person, you: Person | None) -> tuple[Any, ...]:
    return ("you" if person == you else "", person.name, person.nip, ", ".join(person.roles),
            person.opd, person.identified_by(), person.email, person.phone)  # fmt: skip


@click.group(cls=SuggestingGroup, invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_context
def people(ctx: click.Context, fmt: str) -> None:
    """The people of pelihara.toml: their roles (kepala_dinas, kepala_bidang,
    tim_data_center, opd) and how pelihara knows them (os_user, db_role).

    The one running the command is marked "you". A ticket's steps are done by the person
    pelihara.toml maps to your OS user (on PostgreSQL, your database login role), never by
    a name given with --actor.

    \b
      pelihara people
      pelihara people --format json
      pelihara people whoami
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.find_root().obj
    found = _load(app)
    you, why = _you(app, found)
    if fmt == "json":
        print_json([{**p.as_dict(), "you": p == you} for p in found.people])
        return
    print_table(COLUMNS, (_row(person, you) for person in found.people),
                title=f"people of {found.path}")  # fmt: skip
    if you is None:
        console(stderr=True).print(why, style="dim", markup=False)


@people.command()
@click.pass_obj
def whoami(app: App) -> None:
    """Who pelihara takes you for: the configured person your OS user (on PostgreSQL, your
    database login role) maps to, and their roles; or why it takes you for no one.

    \b
      pelihara people whoami
      pelihara --db postgresql://budi@db.dc.example/pelihara people whoami

    Exit status 0 when you are a configured person; 2 when you are not (or pelihara.toml
    is malformed); 6 when the database cannot be reached.
    """
    from pelihara.maintenance.actor import establish

    who = _identity(app)
    person = establish(_load(app), who)
    nip = f", NIP {person.nip}" if person.nip else ""
    click.echo(f"{person.name}{nip}: {person.role_names} ({', '.join(person.roles)}); "
               f"known by {who.describe()}")  # fmt: skip
