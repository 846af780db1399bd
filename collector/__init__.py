"""Runs on the DC team's machine: probes, verify, snapshots and diffs (see DESIGN.md)."""
