"""Services and packages: the commands that list them, the sections that run them and their
parsers. The agent runs the same commands (`*_COMMAND`) and reads them with the same parsers.

>>> packages_from_rpm("kernel\\t5.14.0-427.13.1.el9_4\\n")
(Package(name='kernel', version='5.14.0-427.13.1.el9_4', manager='rpm'),)
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from pelihara.facts.model import Package, Service
from pelihara.facts.output import OutputFormatError
from pelihara.facts.section import Choice, Section

SYSTEMCTL_COMMAND = (
    "systemctl", "list-units", "--type=service", "--all", "--no-legend", "--no-pager", "--plain",
)  # fmt: skip
# dpkg-query and rpm expand the \t and \n escapes themselves: the same text in the shell.
DPKG_QUERY_COMMAND = (
    "dpkg-query", "-W", "-f", r"${db:Status-Abbrev}\t${binary:Package}\t${Version}\n",
)  # fmt: skip
RPM_COMMAND = ("rpm", "-qa", "--qf", r"%{NAME}\t%{VERSION}-%{RELEASE}\n")

# --- systemd, processes ----------------------------------------------------------------

# The marker some systemctl versions put before a failed or not-found unit (dot, cross, circle).
_BULLETS = {"\u25cf", "\u00d7", "\u25cb", "*"}


def services_from_systemctl(text: str) -> tuple[Service, ...]:
    """`systemctl list-units --type=service --all --no-legend --no-pager --plain`:
    `UNIT LOAD ACTIVE SUB DESCRIPTION...`; state is "ACTIVE/SUB" ("active/running")."""
    services = set()
    for line in text.splitlines():
        words = line.split()
        if words and words[0] in _BULLETS:  # failed/not-found marker on some versions
            words = words[1:]
        if not words:
            continue
        if len(words) < 4:
            raise OutputFormatError(f"systemctl line without UNIT LOAD ACTIVE SUB: {line!r}")
        services.add(Service(name=words[0], state=f"{words[2]}/{words[3]}", source="systemd"))
    return tuple(sorted(services, key=lambda service: service.name))


def services_from_names(names: Iterable[str | None]) -> tuple[Service, ...]:
    """Without systemd: the distinct names of the running processes."""
    distinct = {name.strip() for name in names if name and name.strip()}
    return tuple(Service(name=name, state="running", source="process") for name in sorted(distinct))


def parse_ps(text: str) -> tuple[Service, ...]:
    """`ps -eo comm=` without systemd: the distinct process names."""
    return services_from_names(text.splitlines())


# --- packages --------------------------------------------------------------------------


def packages_from_dpkg(text: str) -> tuple[Package, ...]:
    """`dpkg-query -W -f '${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\n'`.

    Packages that are not installed ("un": known only, no version; "rc": removed, config
    left) are skipped; the second status letter is the installed state.
    """
    found = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        status, name, version = _tab_fields(line, 3)
        if len(status) >= 2 and status[1] not in "nc":
            found.add(_package(name, version, "dpkg", line))
    return _sorted_packages(found)


def packages_from_rpm(text: str) -> tuple[Package, ...]:
    """`rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'`."""
    found = set()
    for line in text.splitlines():
        if line.strip():
            name, version = _tab_fields(line, 2)
            found.add(_package(name, version, "rpm", line))
    return _sorted_packages(found)


def _tab_fields(line: str, count: int) -> list[str]:
    fields = [field.strip() for field in line.split("\t")]
    if len(fields) != count:
        raise OutputFormatError(f"expected {count} tab-separated fields: {line!r}")
    return fields


def _package(name: str, version: str, manager: str, line: str) -> Package:
    if not name or not version:
        raise OutputFormatError(f"an installed package without a name or version: {line!r}")
    return Package(name=name, version=version, manager=manager)


def _sorted_packages(found: set[Package]) -> tuple[Package, ...]:
    return tuple(sorted(found, key=lambda package: (package.name, package.version)))


# --- the sections -------------------------------------------------------------------------


def _quiet(command: tuple[str, ...]) -> str:
    """COMMAND without its errors; when it is missing or fails, the section is marked as
    not read (`failed`), so that its empty output is never read as "none"."""
    return f"{shlex.join(command)} 2>/dev/null || failed"


SYSTEMD_SERVICES = Section("services-systemd", _quiet(SYSTEMCTL_COMMAND), services_from_systemctl)
# `comm`: the process name only, never its arguments (a command line may hold a secret).
PROCESSES = Section("services-ps", _quiet(("ps", "-eo", "comm=")), parse_ps)
DPKG = Section("packages-dpkg", _quiet(DPKG_QUERY_COMMAND), packages_from_dpkg)
RPM = Section("packages-rpm", _quiet(RPM_COMMAND), packages_from_rpm)

# systemd's service units when systemd is PID 1 (sd_booted's test), else the processes.
SERVICES = Choice(when=(("[ -d /run/systemd/system ]", SYSTEMD_SERVICES),), otherwise=PROCESSES)
# dpkg's packages where dpkg-query exists, else rpm's; no section without either, and the
# packages are then not read (None).
PACKAGES = Choice(
    when=(
        ("command -v dpkg-query >/dev/null 2>&1", DPKG),
        ("command -v rpm >/dev/null 2>&1", RPM),
    )
)
