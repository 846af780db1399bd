"""Facts schema 2 and every schema before it: recorded schema-1 documents upgraded on read
(tests/fixtures/facts, see its README), a newer schema refused naming both versions."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pelihara.facts.bundle import parse_bundle
from pelihara.facts.model import (
    LIST_FACTS,
    SCHEMA_VERSION,
    Disk,
    Facts,
    FactsFormatError,
    Identity,
    Interface,
    NewerSchemaError,
    facts_from_dict,
    facts_from_json,
    facts_to_dict,
    facts_to_json,
)
from tests.facts.recorded import fixture_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"
RECORDED = ("agent-all", "agent-hardware", "ssh-bundle-all", "ssh-bundle-verify")


@cache
def schema1(case: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"schema1-{case}.json").read_text())
    return document


def test_the_schema_is_2() -> None:
    assert SCHEMA_VERSION == 2
    assert facts_to_dict(Facts(identity=Identity("web01")))["schema_version"] == 2


def test_a_list_not_read_is_null_and_an_empty_one_is_an_empty_list() -> None:
    facts = Facts(identity=Identity("web01"), packages=(), disks=(Disk("vda"),))
    document = facts_to_dict(facts)
    assert document["packages"] == [] and document["services"] is None
    assert document["disks"][0]["mounts"] is None  # the disk read, its mounts not
    assert facts_from_json(facts_to_json(facts)) == facts


def test_interface_addresses_are_read_with_the_interface() -> None:
    """Decided in the model's docstring: an interface read has had its addresses read."""
    assert facts_to_dict(Facts(Identity("a"), interfaces=(Interface("lo"),)))["interfaces"] == [
        {"ipv4": [], "ipv6": [], "is_up": None, "mac": None, "name": "lo", "speed_mbps": None}
    ]


# --- schema 1, recorded ------------------------------------------------------------------------


@pytest.mark.parametrize("case", RECORDED)
def test_every_recorded_schema_1_document_is_read(case: str) -> None:
    """An empty list of schema 1 reads as None (not known), a non-empty one is kept as it
    was; the rest of the document is as recorded."""
    document = schema1(case)
    assert document["schema_version"] == 1
    facts = facts_from_dict(document)
    assert facts.schema_version == 2
    again = facts_to_dict(facts)
    for name in LIST_FACTS:
        assert again[name] == _upgraded_list(name, document[name]), name
    unchanged = set(document) - {*LIST_FACTS, "schema_version", "disks"}
    assert {key: again[key] for key in unchanged} == {key: document[key] for key in unchanged}


def _upgraded_list(name: str, value: list[Any]) -> list[Any] | None:
    """The rule, written out once more: [] -> None; each disk's mounts the same."""
    if not value:
        return None
    if name == "disks":
        return [{**disk, "mounts": disk["mounts"] or None} for disk in value]
    return value


def test_schema_1_hardware_scope_reads_its_software_as_not_read() -> None:
    """`--scope hardware` of schema 1 wrote `[]` for what it never looked at."""
    facts = facts_from_dict(schema1("agent-hardware"))
    software = (facts.services, facts.listening_ports, facts.packages, facts.ssh_host_keys)
    assert software == (None, None, None, None)
    assert facts.disks and facts.interfaces and facts.addresses()


def test_schema_1_disk_without_mounts_reads_as_mounts_not_known() -> None:
    """The verify bundle of schema 1 read the disks and not their mounts: `"mounts": []`
    for the disk that holds `/`."""
    verify, full = (
        facts_from_dict(schema1("ssh-bundle-verify")),
        facts_from_dict(schema1("ssh-bundle-all")),
    )
    assert [(d.name, d.mounts) for d in verify.disks or ()] == [("vda", None)]
    assert [m.path for d in full.disks or () for m in d.mounts or ()] == ["/"]


def test_schema_1_interface_addresses_are_kept_even_when_empty() -> None:
    facts = facts_from_dict(schema1("agent-all"))
    recorded = {nic["name"]: nic["ipv6"] for nic in schema1("agent-all")["interfaces"]}
    assert {nic.name: list(nic.ipv6) for nic in facts.interfaces or ()} == recorded
    assert [] in recorded.values()  # an interface with no IPv6: () read, not None


def test_schema_1_agent_json_in_a_recorded_bundle_is_upgraded() -> None:
    facts = parse_bundle(fixture_text("debian12-agent"))
    assert facts.schema_version == 2 and len(facts.packages or ()) == 727


def test_a_schema_1_document_upgraded_reads_the_same_once_written_again() -> None:
    facts = facts_from_dict(schema1("ssh-bundle-all"))
    assert facts_from_json(facts_to_json(facts)) == facts


# --- newer, or not a schema at all ----------------------------------------------------------


def test_a_newer_schema_is_refused_naming_both_versions() -> None:
    document = {**schema1("agent-all"), "schema_version": 3}
    with pytest.raises(NewerSchemaError) as raised:
        facts_from_dict(document)
    assert str(raised.value) == (
        "facts schema 3 is newer than this pelihara reads (2): upgrade pelihara on the collector"
    )
    assert (raised.value.version, raised.value.supported) == (3, 2)


def test_a_newer_agent_in_the_bundle_is_refused_as_the_agents() -> None:
    text = fixture_text("debian12-agent").replace('"schema_version": 1', '"schema_version": 3')
    with pytest.raises(NewerSchemaError, match=r"^the server's agent: facts schema 3 is newer"):
        parse_bundle(text)


def test_a_malformed_agent_document_is_named_as_its_section() -> None:
    text = fixture_text("debian12-agent").replace('"schema_version": 1', '"schema_version": "1"')
    with pytest.raises(FactsFormatError, match=r"^section agent-json: .* is not a facts schema"):
        parse_bundle(text)


@pytest.mark.parametrize("version", [None, 0, "2", True, 1.5])
def test_a_document_without_a_schema_version_is_refused(version: object) -> None:
    document = {**schema1("agent-all"), "schema_version": version}
    with pytest.raises(FactsFormatError, match="is not a facts schema"):
        facts_from_dict(document)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(FactsFormatError, match="expected a JSON object"):
        facts_from_json("[1, 2]")
