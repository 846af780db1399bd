"""What every room needs and no room owns.

Errors and exit codes, configuration and paths, secrets, canonical JSON and its SHA-256.
"""
