"""`pelihara inventory ...`: import, list, show and export the physical inventory."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import (
    console,
    print_json,
    print_records_csv,
    print_records_json,
    print_table,
    wide_option,
    working,
)
from pelihara.inventory.db import transaction
from pelihara.inventory.exporter import export_records
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Server
from pelihara.inventory.queries import ServerFilter, find_server, list_records
from pelihara.inventory.records import Record, server_record
from pelihara.inventory.sources import SheetOptions

LIST_COLUMNS = ("hostname", "ip", "domain", "opd", "site", "rack", "rack_unit", "status")


@click.group(cls=SuggestingGroup)
def inventory() -> None:
    """The physical inventory: sites, racks, OPDs, servers, addresses.

    Files are CSV, YAML or XLSX (by extension). CSV may use ',' or ';', UTF-8 with
    or without BOM, and decimal commas, as Excel in an Indonesian locale writes it.
    Required columns: hostname, ip, domain, opd; `pelihara inventory import --help`
    lists them all.
    """


def columns_help() -> str:
    """The file's columns for `import --help`, from the column table (inventory/fields.py),
    so that the help cannot drift from what the import takes."""
    from pelihara.inventory.fields import FIELDS

    required = ", ".join(field.name for field in FIELDS if field.required)
    others = ", ".join(field.name for field in FIELDS if not field.required)
    return (f"Columns, in any order and case (`Rack Unit` is rack_unit). Required: "
            f"{required}.\n\nOther columns: {others}.")  # fmt: skip


@inventory.command("import", epilog=columns_help())
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and count, but write nothing.")
@click.option("--sheet", metavar="NAME",
              help="XLSX: the sheet to read (default: the first with a header row).")  # fmt: skip
@click.option("--header-row", type=click.IntRange(min=1), metavar="N",
              help="XLSX: the header is row N (default: found below any title rows).")  # fmt: skip
@click.pass_obj
def import_(app: App, file: Path, dry_run: bool, sheet: str | None, header_row: int | None) -> None:
    """Import servers from FILE: a new hostname is created, an existing one updated.

    The whole file is validated first. If any row has a problem, nothing is imported
    and every problem is printed with its line and column, or in XLSX its cell
    (exit status 3). A column missing from the file leaves that field unchanged;
    an empty cell clears it. Indonesian column names (Nama Host, Alamat IP, ...)
    are accepted, and a No column is ignored.
    """
    options = SheetOptions(sheet, header_row)
    with working(f"importing {escape(file.name)}: every row checked, then written"):
        summary = import_file(app.sessions(), file, app.who, dry_run=dry_run, sheet=options)
    verb = "would import" if dry_run else "imported"
    console().print(
        f"{escape(summary.file)}: {verb} {summary.created} new, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )


@inventory.command("list")
@click.option("--opd", metavar="TEXT", help="Only servers of OPDs whose name contains TEXT.")
@click.option("--site", metavar="TEXT", help="Only servers at sites whose name contains TEXT.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
    show_default=True, help="json and csv give every column.",
)  # fmt: skip
@wide_option
@click.pass_obj
def list_(app: App, opd: str | None, site: str | None, fmt: str) -> None:
    """List servers, by hostname."""
    with transaction(app.sessions(read_only=True), commit=False) as session:
        records = list_records(session, ServerFilter(opd=opd, site=site))
        if fmt == "json":
            print_records_json(records)
        elif fmt == "csv":
            print_records_csv(records)
        else:
            rows = ([record[c] for c in LIST_COLUMNS] for record in records)
            count = print_table(LIST_COLUMNS, rows)
            console().print(f"{count} server{'s' if count != 1 else ''}", style="dim")


def _show_document(server: Server) -> Record:
    document = server_record(server)
    document["components"] = [
        {"kind": c.kind, "model": c.model, "serial": c.serial, "status": c.status,
         "installed_at": c.installed_at, "withdrawn_at": c.withdrawn_at}
        for c in server.components
    ]  # fmt: skip
    document["host_keys"] = [
        {"type": k.key_type, "fingerprint_sha256": k.fingerprint_sha256,
         "first_seen": k.first_seen, "last_seen": k.last_seen}
        for k in server.host_keys
    ]  # fmt: skip
    return document


@inventory.command()
@click.argument("host")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@wide_option
@click.pass_obj
def show(app: App, host: str, fmt: str) -> None:
    """Show one server: HOST is its hostname, domain or one of its IP addresses."""
    with transaction(app.sessions(read_only=True), commit=False) as session:
        document = _show_document(find_server(session, host))
    if fmt == "json":
        print_json(document)
        return
    components, keys = document.pop("components"), document.pop("host_keys")
    print_table(("field", "value"), document.items(), title=document["hostname"])
    if components:
        print_table(tuple(components[0]), (c.values() for c in components), title="components")
    if keys:
        print_table(tuple(keys[0]), (k.values() for k in keys), title="SSH host keys")


@inventory.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--opd", metavar="TEXT", help="Only servers of OPDs whose name contains TEXT.")
@click.option("--site", metavar="TEXT", help="Only servers at sites whose name contains TEXT.")
@click.option(
    "--excel-id", is_flag=True,
    help="CSV as Excel in an Indonesian locale opens it: ';', decimal commas, UTF-8 with BOM.",
)  # fmt: skip
@click.option("--force", is_flag=True, help="Replace FILE if it exists (default: refuse).")
@click.pass_obj
def export(
    app: App, file: Path, opd: str | None, site: str | None, excel_id: bool, force: bool
) -> None:
    """Write servers to FILE: .csv, .yaml or .xlsx (by extension).

    Importing the file into an empty database gives the same records. CSV cells
    starting with = + - @ get a leading ' so that a spreadsheet does not run them.
    An existing FILE is left as it is (exit status 2) unless --force.
    """
    with transaction(app.sessions(read_only=True), commit=False) as session:
        records = list_records(session, ServerFilter(opd, site))
        count = export_records(records, file, excel_id=excel_id, force=force)
    console().print(f"{escape(str(file))}: {count} server{'s' if count != 1 else ''} exported")


@inventory.command("forget-host-key")
@click.argument("host")
@click.option("--key-type", metavar="TYPE",
              help="Only the key of this type (e.g. ssh-ed25519); default: every one.")  # fmt: skip
@click.pass_obj
def forget_host_key(app: App, host: str, key_type: str | None) -> None:
    """Forget the SSH host keys recorded for HOST, after the server was really re-keyed.

    \b
    verify refuses a key that differs from the recorded one, with or without
    --trust-new-host-keys. When the server was reinstalled or its keys rotated:
      1. check its new key out of band, on its console:
           ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub
      2. pelihara inventory forget-host-key HOST
      3. pelihara verify HOST --trust-new-host-keys
         (records the key it offers now)

    The audit log keeps each forgotten key and who forgot it. Keys in known_hosts files are
    yours to edit: ssh-keygen -R HOST.
    """
    from pelihara.inventory.audit import AuditLog
    from pelihara.inventory.host_keys import forget_host_keys

    with transaction(app.sessions()) as session:
        server = find_server(session, host)
        forgotten = forget_host_keys(session, AuditLog(session, app.who), server, key_type)
        name = server.hostname
    for key in forgotten:
        console().print(f"{escape(name)}: forgot {key.key_type} {key.fingerprint_sha256}")
