"""`pelihara sop ...`: the SOPs as data: list them, show one's steps, check a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pelihara.cli.app import App, SuggestingGroup
from pelihara.cli.output import console, error, print_json, print_table, warning
from pelihara.core.errors import ExitCode
from pelihara.maintenance.roles import role_label
from pelihara.maintenance.sop import Sop, Step, as_document, evidence_label
from pelihara.maintenance.sop_file import PACKAGED, SOPS_DIR, Entry, catalogue, find_sop, read_sop

HEADERS = {
    "id": ("No", "Langkah", "Pelaksana", "Waktu", "Bukti", "Output"),
    "en": ("No", "Step", "Role", "Service level", "Evidence", "Output"),
}
FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                      show_default=True)  # fmt: skip


def _config_dir(app: App) -> Path:
    """The directory of pelihara.toml, whose sops/ holds the configured SOPs."""
    return app.config.path.parent


@click.group(cls=SuggestingGroup)
def sop() -> None:
    """The SOPs as data: the steps, who does each, its service level, its evidence.

    pelihara ships SOP Pemeliharaan Server; a data center adds its related SOPs as
    YAML files in the sops/ directory next to pelihara.toml, without code.

    \b
      pelihara sop list
      pelihara sop show pemeliharaan-server --lang en
      pelihara sop check permohonan-colocation.yaml
    """


def _row(entry: Entry) -> list[Any]:
    if entry.sop is None:
        count = len(entry.problems)
        return [entry.name, f"BROKEN: {count} problem{'s' if count != 1 else ''}", "", "", "",
                entry.source]  # fmt: skip
    s = entry.sop
    return [s.name, s.title.id, s.number, s.revision, len(s.steps), entry.source]


def _entry_json(entry: Entry) -> dict[str, Any]:
    document: dict[str, Any] = {"name": entry.name, "source": entry.source}
    if entry.sop is None:
        return {**document, "problems": [str(problem) for problem in entry.problems]}
    s = entry.sop
    return {**document, "title": s.title.id, "number": s.number, "revision": s.revision,
            "steps": len(s.steps)}  # fmt: skip


@sop.command("list")
@FORMAT
@click.pass_obj
@click.pass_context
def list_(ctx: click.Context, app: App, fmt: str) -> None:
    """The SOPs: the packaged one and each file of the sops/ directory next to
    pelihara.toml, with number, revision, steps and source file.

    A file that is not a valid SOP is listed as BROKEN, its problems on stderr, and
    the others are listed all the same.

    \b
      pelihara sop list --format json

    Exit status 0; 3 when a file is broken.
    """
    entries = catalogue(_config_dir(app))
    if fmt == "json":
        print_json([_entry_json(entry) for entry in entries])
    else:
        columns = ("name", "title", "number", "revision", "steps", "source")
        print_table(columns, [_row(entry) for entry in entries], drop=("title",))
    broken = [entry for entry in entries if entry.sop is None]
    for entry in broken:
        for problem in entry.problems:
            error(str(problem))
    if broken:
        ctx.exit(ExitCode.INVALID_INPUT)


def _service_level(step: Step, lang: str) -> str:
    days = step.service_level_days
    if days is None:
        return "-"
    return f"{days} hari kerja" if lang == "id" else f"{days} working day{'s' * (days != 1)}"


def _step_row(step: Step, lang: str) -> list[Any]:
    who = role_label(step.role, lang)
    if step.with_:
        joined = " bersama " if lang == "id" else " with "
        who += joined + ", ".join(role_label(role, lang) for role in step.with_)
    evidence = ", ".join(evidence_label(kind, lang) for kind in step.evidence) or "-"
    return [step.number, step.name.in_language(lang), who, _service_level(step, lang), evidence,
            step.output or "-"]  # fmt: skip


def _print_header(s: Sop, lang: str) -> None:
    out = console()
    revision = "Revisi" if lang == "id" else "revision"
    out.print(f"SOP {s.title.in_language(lang)}: {s.number}, {revision} {s.revision}",
              style="bold", markup=False)  # fmt: skip
    if s.warning is not None:
        label = "Peringatan" if lang == "id" else "Warning"
        out.print(f"{label}: {s.warning.in_language(lang)}", markup=False)


def _print_lists(s: Sop, lang: str) -> None:
    out = console()
    for label, items in (
        ("Dasar Hukum" if lang == "id" else "Legal basis", s.legal_basis),
        ("Keterkaitan" if lang == "id" else "Related SOPs", s.related),
    ):
        if items:
            out.print(f"{label}:", style="bold", markup=False)
            for position, item in enumerate(items, start=1):
                out.print(f"  {position}. {item}", markup=False)


@sop.command()
@click.argument("name")
@FORMAT
@click.option("--lang", type=click.Choice(["id", "en"]), default="id", show_default=True,
              help="The language of the steps: Bahasa Indonesia or English.")  # fmt: skip
@click.pass_obj
def show(app: App, name: str, fmt: str, lang: str) -> None:
    """The steps of the SOP NAME: who does each, its service level, the evidence the
    ticket needs before it moves on, and its output; then the legal basis.

    \b
      pelihara sop show pemeliharaan-server
      pelihara sop show pemeliharaan-server --lang en --format json

    Exit status 0; 3 when its file is broken; 7 when there is no SOP NAME.
    """
    found = find_sop(name, _config_dir(app))
    if fmt == "json":
        print_json(as_document(found))
        return
    _print_header(found, lang)
    rows = [_step_row(step, lang) for step in found.steps]
    print_table(HEADERS[lang], rows, drop=("Output",))
    _print_lists(found, lang)


@sop.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Check the SOP file FILE before putting it in the sops/ directory.

    Every problem is named with its line, step and field:

    \b
      pelihara sop check sops/permohonan-colocation.yaml
      sops/permohonan-colocation.yaml:42 [step 3 evidence]: unknown
        evidence kind 'foto'; use one of verification_run, ...

    Exit status 0 when it is a valid SOP (one line says so); 3 with every problem.
    """
    found = read_sop(file)
    if found.name == PACKAGED:
        warning(f"{file}: {PACKAGED!r} is the packaged SOP's name; in the {SOPS_DIR}/ "
                "directory this file would be refused: give it a name of its own")  # fmt: skip
    click.echo(f"{file}: valid SOP {found.name!r} ({found.number}, revision {found.revision}): "
               f"{len(found.steps)} steps")  # fmt: skip
