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
    warning,
    wide_option,
    working,
)
from pelihara.core.cells import cell_text
from pelihara.inventory.components import (
    ComponentCounts,
    component_records,
    components_by_host,
    import_components,
)
from pelihara.inventory.db import transaction
from pelihara.inventory.edits import Edit, remove_server, rename_server, set_fields
from pelihara.inventory.exporter import (
    HOLDS_COMPONENTS,
    export_component_records,
    export_records,
)
from pelihara.inventory.importer import import_file
from pelihara.inventory.models import Server
from pelihara.inventory.names import KINDS
from pelihara.inventory.queries import ServerFilter, find_server, list_records
from pelihara.inventory.records import Record, server_record
from pelihara.inventory.renames import (
    Renamed,
    merge_opd,
    merge_rack,
    merge_site,
    rename_opd,
    rename_rack,
    rename_site,
)
from pelihara.inventory.sources import SheetOptions

LIST_COLUMNS = ("hostname", "ip", "domain", "opd", "site", "rack", "rack_unit", "status")


@click.group(cls=SuggestingGroup)
def inventory() -> None:
    """The physical inventory: sites, racks, OPDs, servers, addresses.

    Files are CSV, YAML or XLSX (by extension). CSV may use ',' or ';', UTF-8 with
    or without BOM, and decimal commas, as Excel in an Indonesian locale writes it.
    Required: hostname; and ip, domain, opd for a new server (`pelihara inventory
    import --help` lists every column). Small edits without a file: set, rename,
    remove; opd, site, rack.
    """


def columns_help() -> str:
    """The file's columns for `import --help`, from the column table (inventory/fields.py),
    so that the help cannot drift from what the import takes."""
    from pelihara.inventory.fields import FIELDS

    for_new = ", ".join(
        field.name for field in FIELDS if field.required and field.name != "hostname"
    )
    others = ", ".join(field.name for field in FIELDS if not field.required)
    return (f"Columns, in any order and case (`Rack Unit` is rack_unit). Required: hostname "
            f"always; {for_new} for a new server.\n\nOther columns: {others}.")  # fmt: skip


@inventory.command("import", epilog=columns_help())
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and count, but write nothing.")
@click.option("--sheet", metavar="NAME",
              help="XLSX: the sheet to read (default: the first with a header row).")  # fmt: skip
@click.option("--header-row", type=click.IntRange(min=1), metavar="N",
              help="XLSX: the header is row N (default: found below any title rows).")  # fmt: skip
@click.option(
    "--strict", is_flag=True, help="A new OPD, site or rack name close to another is an error."
)
@click.pass_obj
def import_(
    app: App, file: Path, dry_run: bool, sheet: str | None, header_row: int | None, strict: bool
) -> None:
    """Import servers from FILE: a new hostname is created, an existing one updated.

    The whole file is checked first, against itself and the database. If anything
    is wrong, nothing is imported and every problem is printed with its line and
    column, or in XLSX its cell (exit status 3). A column the file lacks leaves that
    field as it is; an empty cell clears it. Indonesian column names (Nama Host,
    Alamat IP, ...) are accepted, and a No column is ignored.

    \b
    To update servers, a file needs only hostname and the columns it changes:
      hostname,status
      dinkes-web01,maintenance
    """
    options = SheetOptions(sheet, header_row)
    with working(f"importing {escape(file.name)}: every row checked, then written"):
        summary = import_file(
            app.sessions(), file, app.who, dry_run=dry_run, strict=strict, sheet=options
        )
    for problem in summary.warnings:
        warning(str(problem))
    verb = "would import" if dry_run else "imported"
    console().print(
        f"{escape(summary.file)}: {verb} {summary.created} new, {summary.updated} updated, "
        f"{summary.unchanged} unchanged"
    )
    for label, names in (("OPDs", summary.new_opds), ("sites", summary.new_sites),
                         ("racks", summary.new_racks)):  # fmt: skip
        if names:
            console().print(f"  new {label}: {escape(', '.join(names))}")
    if summary.components is not None:
        console().print(f"  components: {_counted(summary.components)}")


@inventory.command("import-components")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and count, but write nothing.")
@click.pass_obj
def import_components_(app: App, file: Path, dry_run: bool) -> None:
    """Import servers' components (disks, PSUs, NICs, ...) from a CSV FILE.

    Columns: hostname, kind, serial (required), model, slot, status. Kind is
    one of disk, psu, nic, memory, cpu, other; status installed or withdrawn.
    A serial names one component: the server's own is updated, another
    server's refused. Every problem is printed at once and nothing is
    imported (exit status 3). A workbook's `components` sheet and YAML
    `components:` lists are read by `inventory import` with the servers.

    \b
      hostname,kind,model,serial,slot,status
      dinkes-web01,disk,ST4000NM,ZC1A2B3C,bay 1,installed
    """
    summary = import_components(app.sessions(), file, app.who, dry_run=dry_run)
    verb = "would import" if summary.dry_run else "imported"
    console().print(f"{escape(summary.file)}: {verb} {_counted(summary.counts)}")


def _counted(counts: ComponentCounts) -> str:
    return (
        f"{counts.created} new component{'s' if counts.created != 1 else ''}, "
        f"{counts.updated} updated, {counts.unchanged} unchanged"
    )


@inventory.command("export-components")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_obj
def export_components_(app: App, file: Path, force: bool) -> None:
    """Write every component to a CSV FILE that import-components reads back.

    An existing FILE is left as it is (exit status 2) unless --force.
    """
    with transaction(app.sessions(read_only=True), commit=False) as session:
        count = export_component_records(component_records(session), file, force)
    console().print(f"{escape(str(file))}: {count} component{'s' if count != 1 else ''} exported")


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
        {"kind": c.kind, "model": c.model, "serial": c.serial, "slot": c.slot, "status": c.status,
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

    Importing the file into an empty database gives the same records. XLSX
    and YAML hold the servers' components too (a `components` sheet, a
    `components:` list); for CSV, write them with export-components. CSV cells
    starting with = + - @ get a leading ' so that a spreadsheet does not run them.
    An existing FILE is left as it is (exit status 2) unless --force.
    """
    with transaction(app.sessions(read_only=True), commit=False) as session:
        records = list(list_records(session, ServerFilter(opd, site)))
        parts = components_by_host(session, {str(record["hostname"]) for record in records})
        count = export_records(records, file, excel_id=excel_id, force=force, parts=parts)
    held = sum(len(found) for found in parts.values())
    servers = f"{count} server{'s' if count != 1 else ''} exported"
    if not held:
        console().print(f"{escape(str(file))}: {servers}")
    elif file.suffix.lower() in HOLDS_COMPONENTS and not excel_id:
        console().print(f"{escape(str(file))}: {servers}, with {held} components")
    else:
        console().print(f"{escape(str(file))}: {servers}")
        warning(f"{held} components are not in a CSV file: write them with "
                "`pelihara inventory export-components FILE.csv`")  # fmt: skip


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


# --- small edits --------------------------------------------------------------------------


def _changes(edit: Edit) -> None:
    for problem in edit.warnings:
        warning(str(problem))
    changed = edit.changed
    if not changed:
        console().print(f"{escape(edit.hostname)}: unchanged")
    for name, (before, after) in changed.items():
        console().print(
            f"{escape(edit.hostname)}: {name} {escape(repr(cell_text(before)))} -> "
            f"{escape(repr(cell_text(after)))}"
        )
    for created in edit.created:
        console().print(f"  new {escape(created)}")


@inventory.command("set")
@click.argument("host")
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE...")
@click.option(
    "--strict", is_flag=True, help="A new OPD, site or rack name close to another is an error."
)
@click.pass_obj
def set_(app: App, host: str, assignments: tuple[str, ...], strict: bool) -> None:
    """Set fields of the server HOST (its hostname or an address); FIELD= clears one.

    \b
    Examples:
      pelihara inventory set dinkes-web01 status=maintenance
      pelihara inventory set dinkes-web01 memory_gb=64 "notes=RAM ditambah"
      pelihara inventory set dinkes-web01 site="DC Utama" rack=R05 rack_unit=12
      pelihara inventory set dinkes-web01 asset_tag=
    Every column of the inventory file but hostname (see `rename`), checked by the
    same rules as an import; all or nothing; audited. Numbers like 1.920 are
    ambiguous here: write 1920 or 1.92.
    """
    with transaction(app.sessions()) as session:
        edit = set_fields(session, app.who, host, assignments, strict)
    _changes(edit)


@inventory.command()
@click.argument("host")
@click.argument("new")
@click.pass_obj
def rename(app: App, host: str, new: str) -> None:
    """Rename the server HOST to NEW (a hostname not in use).

    \b
    Example:
      pelihara inventory rename dinkes-web01 dinkes-simpus01
    Its addresses, host keys and audit history stay with it (`audit log --key OLD`
    shows the rename); verify runs made before keep the name they were made with.
    """
    with transaction(app.sessions()) as session:
        edit = rename_server(session, app.who, host, new)
    console().print(f"{escape(host)}: renamed to {escape(edit.hostname)}")


@inventory.command()
@click.argument("host")
@click.option(
    "--withdrawn", is_flag=True, help="Keep the record, with status withdrawn (SOP step 8)."
)
@click.pass_obj
def remove(app: App, host: str, withdrawn: bool) -> None:
    """Remove the server HOST from the inventory, with its addresses and host keys.

    \b
    Examples:
      pelihara inventory remove test-vm03
      pelihara inventory remove dinkes-web01 --withdrawn
    Refused while verify runs or snapshots name the server (its history would
    lose it); --withdrawn keeps the record (status withdrawn) instead.
    Audited either way.
    """
    from pelihara.collector.runs import runs_naming
    from pelihara.collector.snapshot_store import snapshots_naming

    referrers = (runs_naming, snapshots_naming)
    with transaction(app.sessions()) as session:
        edit = remove_server(session, app.who, host, withdrawn, referrers=referrers)
    if edit.after is None:
        console().print(f"{escape(edit.hostname)}: removed")
    else:
        _changes(edit)


def _renamed(result: Renamed) -> None:
    for problem in result.warnings:
        warning(str(problem))
    kind = KINDS[result.kind]
    verb = "merged into" if result.merged else "renamed to"
    count = f"{result.servers} server{'s' if result.servers != 1 else ''} updated"
    console().print(
        f"{kind} {escape(repr(result.old))} {verb} {escape(repr(result.new))} ({count})"
    )


_STRICT = click.option(
    "--strict", is_flag=True, help="A new name close to another one is an error."
)


@inventory.group(cls=SuggestingGroup)
def opd() -> None:
    """Rename an OPD, or merge one into another.

    Names are compared without regard to case and spacing. Every server whose
    record changes gets its own audit entry.

    \b
    Examples:
      pelihara inventory opd rename "Dinas Kesehatn" "Dinas Kesehatan"
      pelihara inventory opd merge "Dinkes" "Dinas Kesehatan"
    """


@opd.command("rename")
@click.argument("old")
@click.argument("new")
@_STRICT
@click.pass_obj
def opd_rename(app: App, old: str, new: str, strict: bool) -> None:
    """Rename the OPD OLD to NEW (refused if NEW exists: merge instead)."""
    with transaction(app.sessions()) as session:
        _renamed(rename_opd(session, app.who, old, new, strict))


@opd.command("merge")
@click.argument("old")
@click.argument("into")
@click.pass_obj
def opd_merge(app: App, old: str, into: str) -> None:
    """Give the servers of the OPD OLD to the OPD INTO, and remove OLD."""
    with transaction(app.sessions()) as session:
        _renamed(merge_opd(session, app.who, old, into))


@inventory.group(cls=SuggestingGroup)
def site() -> None:
    """Rename a site, or merge one into another.

    \b
    Examples:
      pelihara inventory site rename "DC Utma" "DC Utama"
      pelihara inventory site merge "DRC Lama" "DRC Kantor Walikota"
    A merge moves the racks too; a rack whose name the other site has already is
    merged into that one, refused if two servers would share a rack unit.
    """


@site.command("rename")
@click.argument("old")
@click.argument("new")
@_STRICT
@click.pass_obj
def site_rename(app: App, old: str, new: str, strict: bool) -> None:
    """Rename the site OLD to NEW (refused if NEW exists: merge instead)."""
    with transaction(app.sessions()) as session:
        _renamed(rename_site(session, app.who, old, new, strict))


@site.command("merge")
@click.argument("old")
@click.argument("into")
@click.pass_obj
def site_merge(app: App, old: str, into: str) -> None:
    """Move the servers and racks of the site OLD to the site INTO, and remove OLD."""
    with transaction(app.sessions()) as session:
        _renamed(merge_site(session, app.who, old, into))


_SITE = click.option(
    "--site", metavar="NAME", help="The rack's site (needed when several sites have the name)."
)


@inventory.group(cls=SuggestingGroup)
def rack() -> None:
    """Rename a rack, or merge one into another of its site.

    \b
    Examples:
      pelihara inventory rack rename R1 R01 --site "DC Utama"
      pelihara inventory rack merge R07 R06 --site "DC Utama"
    A merge is refused if two servers would share a rack unit.
    """


@rack.command("rename")
@click.argument("old")
@click.argument("new")
@_SITE
@_STRICT
@click.pass_obj
def rack_rename(app: App, old: str, new: str, site: str | None, strict: bool) -> None:
    """Rename the rack OLD to NEW, in its site."""
    with transaction(app.sessions()) as session:
        _renamed(rename_rack(session, app.who, old, new, site, strict))


@rack.command("merge")
@click.argument("old")
@click.argument("into")
@_SITE
@click.pass_obj
def rack_merge(app: App, old: str, into: str, site: str | None) -> None:
    """Move the servers of the rack OLD into the rack INTO of the same site; remove OLD."""
    with transaction(app.sessions()) as session:
        _renamed(merge_rack(session, app.who, old, into, site))
