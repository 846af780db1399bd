"""The stable keys that pair items across snapshots, and the volatile fields."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest

from pelihara.facts import model
from pelihara.facts.bundle import parse_bundle
from pelihara.facts.keys import KEYS, VOLATILE, key_of
from pelihara.facts.model import (
    Disk,
    Facts,
    HostKey,
    Identity,
    Interface,
    ListeningPort,
    Mount,
    Package,
    Service,
)
from tests.facts.recorded import ROCKY, fixture_text


def model_types() -> set[type[Any]]:
    """Every dataclass of the model."""
    return {
        value
        for value in vars(model).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
    }


def _without_none(hint: Any) -> Any:
    """`tuple[X, ...] | None` (a list that may be unread, schema 2) -> `tuple[X, ...]`."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return inner
    return hint


def collection_item_types() -> set[type[Any]]:
    """The item types of every `tuple[X, ...]` field of the model (or `... | None`)."""
    found = set()
    for kind in model_types():
        for hint in map(_without_none, typing.get_type_hints(kind).values()):
            if typing.get_origin(hint) is tuple:
                item = typing.get_args(hint)[0]
                if dataclasses.is_dataclass(item):
                    found.add(item)
    return found


def test_every_collection_of_the_model_has_a_key() -> None:
    assert set(KEYS) == collection_item_types()
    assert collection_item_types() == {
        Disk, Mount, Interface, Service, ListeningPort, Package, HostKey,
    }  # fmt: skip


def test_every_model_type_declares_its_volatile_fields_and_they_exist() -> None:
    assert set(VOLATILE) == model_types()
    for kind, names in VOLATILE.items():
        assert names <= {field.name for field in dataclasses.fields(kind)}, kind


def test_the_declarations_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        KEYS[Disk] = lambda disk: ()  # type: ignore[index]
    with pytest.raises(TypeError):
        VOLATILE[Disk] = frozenset()  # type: ignore[index]


def test_what_is_volatile() -> None:
    assert VOLATILE[Facts] == {"collected_at"}
    assert VOLATILE[Mount] == {"used_bytes"}
    assert "boot_time" not in VOLATILE[Identity]  # a reboot is interesting
    assert not VOLATILE[Interface]  # a renegotiated link speed is a finding
    assert not VOLATILE[Disk] and not VOLATILE[Package] and not VOLATILE[HostKey]


# --- one key per collection ---------------------------------------------------------------


def test_a_disk_is_its_serial_wherever_it_is_plugged_in() -> None:
    before = Disk(name="sda", size_bytes=480103981056, serial="S3Z1NB0K")
    after = Disk(name="sdb", size_bytes=480103981056, serial="S3Z1NB0K")
    assert key_of(before) == key_of(after)
    assert key_of(before) != key_of(dataclasses.replace(before, serial="S3Z1NB0L"))


def test_a_disk_without_a_serial_is_its_name() -> None:
    assert key_of(Disk(name="vda")) == key_of(Disk(name="vda", size_bytes=1))
    assert key_of(Disk(name="vda")) != key_of(Disk(name="vdb"))
    # a serial that happens to read like a name is not that name
    assert key_of(Disk(name="sdb", serial="vda")) != key_of(Disk(name="vda"))
    assert key_of(Disk(name="vda", serial="")) == key_of(Disk(name="vda"))


def test_a_mount_is_its_path() -> None:
    root = Mount("/", "/dev/sda2", "ext4", 100, 50)
    assert key_of(root) == key_of(Mount("/", "/dev/sdb2", "xfs", 200, 10))
    assert key_of(root) != key_of(Mount("/home", "/dev/sda2", "ext4", 100, 50))


def test_an_interface_is_its_mac_else_its_name() -> None:
    eth0 = Interface(name="eth0", mac="b0:7b:25:de:ad:01", ipv4=("10.0.0.9",))
    renamed = Interface(name="ens3", mac="b0:7b:25:de:ad:01")
    assert key_of(eth0) == key_of(renamed)
    assert key_of(eth0) != key_of(dataclasses.replace(eth0, mac="b0:7b:25:de:ad:02"))
    assert key_of(Interface(name="wg0")) == key_of(Interface(name="wg0", is_up=True))
    assert key_of(Interface(name="wg0")) != key_of(Interface(name="wg1"))


def test_a_service_is_its_name() -> None:
    running = Service("sshd.service", "active/running", "systemd")
    assert key_of(running) == key_of(Service("sshd.service", "failed/failed", "systemd"))
    assert key_of(running) != key_of(Service("nginx.service", "active/running", "systemd"))


def test_a_listening_port_is_protocol_address_and_port() -> None:
    ssh = ListeningPort("tcp", "0.0.0.0", 22, "sshd")
    assert key_of(ssh) == key_of(ListeningPort("tcp", "0.0.0.0", 22, None))
    assert key_of(ssh) != key_of(ListeningPort("udp", "0.0.0.0", 22, "sshd"))
    assert key_of(ssh) != key_of(ListeningPort("tcp", "::", 22, "sshd"))
    assert key_of(ssh) != key_of(ListeningPort("tcp", "0.0.0.0", 2222, "sshd"))


def test_a_package_is_its_manager_and_name() -> None:
    bash = Package("bash", "5.2.15-2+b7", "dpkg")
    assert key_of(bash) == key_of(Package("bash", "5.2.21-2", "dpkg"))
    assert key_of(bash) != key_of(Package("bash", "5.2.15-2+b7", "rpm"))
    assert key_of(bash) != key_of(Package("dash", "5.2.15-2+b7", "dpkg"))


def test_a_host_key_is_its_type() -> None:
    ed25519 = HostKey("ssh-ed25519", "SHA256:abc")
    assert key_of(ed25519) == key_of(HostKey("ssh-ed25519", "SHA256:def"))
    assert key_of(ed25519) != key_of(HostKey("ssh-rsa", "SHA256:abc"))


def test_only_collection_items_have_keys() -> None:
    with pytest.raises(KeyError):
        key_of(Identity(hostname="db01"))


def test_keys_on_the_synthetic_server() -> None:
    """Keys are identities, not unique within one snapshot: rpm keeps two kernels."""
    facts = parse_bundle(fixture_text(ROCKY))
    assert [key_of(disk) for disk in facts.disks] == [
        ("serial", "PHAB123400AB1P6AGN"), ("serial", "0012a3b4c5d6e7f82400b0a1b2c3d4e5"),
    ]  # fmt: skip
    kernels = [package for package in facts.packages if package.name == "kernel"]
    assert len(kernels) == 2 and {key_of(kernel) for kernel in kernels} == {("rpm", "kernel")}
    for collection in (facts.interfaces, facts.listening_ports, facts.services):
        keys = [key_of(item) for item in collection]
        assert len(keys) == len(set(keys))
