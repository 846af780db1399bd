"""Real servers (sshd, snmpd, dnsmasq, VictoriaMetrics, PostgreSQL) for tests.

Each server runs on 127.0.0.1 on a free port, with its configuration and data in a temp dir,
and is stopped by PID. The pytest fixtures that use them live in `tests/conftest.py`.
"""
