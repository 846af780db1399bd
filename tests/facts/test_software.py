"""Services and packages, on recorded outputs in tests/fixtures/bundle."""

from __future__ import annotations

from pelihara.facts.model import Package, Service
from pelihara.facts.software import (
    packages_from_dpkg,
    packages_from_rpm,
    parse_ps,
    services_from_systemctl,
)
from tests.facts.recorded import DEBIAN, ROCKY, section


def test_services_from_systemctl() -> None:
    services = services_from_systemctl(section(ROCKY, "services-systemd"))
    assert len(services) == 10 and [s.name for s in services] == sorted(s.name for s in services)
    by_name = {service.name: service for service in services}
    assert by_name["sshd.service"] == Service("sshd.service", "active/running", "systemd")
    assert by_name["kdump.service"].state == "failed/failed"
    assert by_name["ntpd.service"].state == "inactive/dead"  # the ● marker is skipped


def test_parse_ps_gives_distinct_process_names() -> None:
    services = parse_ps(section(DEBIAN, "services-ps"))
    names = [service.name for service in services]
    assert names == sorted(set(names)) and "ps" in names
    assert {service.source for service in services} == {"process"}
    assert {service.state for service in services} == {"running"}


def test_packages_from_dpkg_on_the_recorded_vm() -> None:
    packages = packages_from_dpkg(section(DEBIAN, "packages-dpkg"))
    assert len(packages) == 727
    assert any(package.name == "dpkg" for package in packages)
    assert {package.manager for package in packages} == {"dpkg"}


def test_packages_from_dpkg_skips_packages_not_installed() -> None:
    text = "ii \tbash\t5.2.15-2+b7\nrc \told-lib\t1.0\nun \tghost\t\niF \thalf\t2.0\n"
    assert packages_from_dpkg(text) == (
        Package("bash", "5.2.15-2+b7", "dpkg"), Package("half", "2.0", "dpkg"),
    )  # fmt: skip


def test_packages_from_rpm_keeps_every_installed_kernel() -> None:
    packages = packages_from_rpm(section(ROCKY, "packages-rpm"))
    kernels = [package.version for package in packages if package.name == "kernel"]
    assert kernels == ["5.14.0-362.24.1.el9_3", "5.14.0-427.13.1.el9_4"]
    assert len(packages) == 8
