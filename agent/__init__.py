"""Runs on a server: psutil facts and health samples (see DESIGN.md)."""
