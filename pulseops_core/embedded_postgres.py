"""An embedded PostgreSQL server from the `pgserver` wheel, listening on 127.0.0.1.

Used when no DATABASE_URL is configured. The server keeps its data under the state folder and
survives between commands: `ensure_running` reuses a live server and starts a stopped one.
Password authentication with a generated password, so no fixed credential exists anywhere.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pulseops_core.secrets import read_or_create_secret

# pgserver's import asks platformdirs for a runtime folder it never uses here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

SUPERUSER = "postgres"
DATABASE = "pulseops"
SYSTEM_USER = "pgserver"  # postgres refuses to run as root


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{quote(self.password)}@127.0.0.1:{self.port}/{DATABASE}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> dict:
    """subprocess kwargs that drop root privileges for the postgres binaries."""
    if os.geteuid() != 0:
        return {}
    from pgserver.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return {"user": SYSTEM_USER}


def _grant_access(data_dir: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def _is_running(data_dir: Path) -> bool:
    from pgserver._commands import POSTGRES_BIN_PATH

    # Called directly: pgserver's wrapper logs an error for the normal "not running" answer.
    status = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir), "status"], capture_output=True, **_run_as()
    )
    return status.returncode == 0


def ensure_running(state_dir: Path, secrets_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server under `state_dir` and make sure its database exists."""
    from pgserver import initdb, pg_ctl

    data_dir = state_dir / "postgres" / "data"
    port_file = state_dir / "postgres" / "port"
    password, _ = read_or_create_secret(secrets_dir, "postgres_password")
    data_dir.mkdir(parents=True, exist_ok=True)
    run_as = _run_as()
    _grant_access(data_dir)

    if not (data_dir / "PG_VERSION").exists():
        pwfile = data_dir.parent / "pwfile"
        # Owner-only from its first byte: it holds the superuser's password until initdb has read it.
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(password + "\n")
        if run_as:
            import shutil

            shutil.chown(pwfile, user=SYSTEM_USER)
        try:
            initdb(
                ["--auth=scram-sha-256", "--encoding=utf8", "-U", SUPERUSER, f"--pwfile={pwfile}"],
                pgdata=data_dir,
                **run_as,
            )
        finally:
            pwfile.unlink()

    if _is_running(data_dir) and port_file.exists():
        server = EmbeddedPostgres(data_dir, int(port_file.read_text()), password)
    else:
        port = _free_port()
        log = data_dir.parent / "server.log"
        if run_as and not log.exists():
            log.touch()
            import shutil

            shutil.chown(log, user=SYSTEM_USER)
        pg_ctl(
            ["-w", "-o", f"-h 127.0.0.1 -p {port} -k {data_dir}", "-l", str(log), "start"], pgdata=data_dir, **run_as
        )
        port_file.write_text(str(port))
        server = EmbeddedPostgres(data_dir, port, password)
    _ensure_database(server)
    return server


def _ensure_database(server: EmbeddedPostgres) -> None:
    import psycopg

    admin_url = server.url.rsplit("/", 1)[0] + "/postgres"
    for attempt in range(50):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
                if not exists:
                    conn.execute(f'create database "{DATABASE}"')
                return
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def stop(state_dir: Path) -> None:
    from pgserver import pg_ctl

    data_dir = state_dir / "postgres" / "data"
    if (data_dir / "PG_VERSION").exists() and _is_running(data_dir):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, **_run_as())
