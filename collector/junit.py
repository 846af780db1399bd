"""Findings as JUnit XML, for CI systems and dashboards that read test reports.

One test suite per host, one test case per check and source; a mismatch or missing value is
a failure, an unreachable source an error, an informative finding passes with its message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

_FAILURES = ("mismatch", "missing")
_ERRORS = ("unreachable", "error")


def _case(suite: ET.Element, finding: Mapping[str, Any]) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", name=f"{finding['check']} [{finding['source']}]",
                         classname=f"pelihara.verify.{finding['host']}")  # fmt: skip
    text = f"expected: {finding['expected']}\nobserved: {finding['observed']}"
    message = finding["message"] or finding["status"]
    if finding["status"] in _ERRORS:
        ET.SubElement(case, "error", message=message, type=finding["status"]).text = text
        return 0, 1
    if finding["status"] in _FAILURES and finding["severity"] != "info":
        ET.SubElement(case, "failure", message=message, type=finding["severity"]).text = text
        return 1, 0
    ET.SubElement(case, "system-out").text = text
    return 0, 0


def junit_xml(findings: Iterable[Mapping[str, Any]], run_id: int) -> str:
    """The findings of run RUN_ID as a JUnit XML document."""
    by_host: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_host[finding["host"]].append(finding)
    root = ET.Element("testsuites", name=f"pelihara verify run {run_id}")
    for host, items in sorted(by_host.items()):
        suite = ET.SubElement(root, "testsuite", name=host, tests=str(len(items)))
        failures = errors = 0
        for finding in items:
            failed, errored = _case(suite, finding)
            failures, errors = failures + failed, errors + errored
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
