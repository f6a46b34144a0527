"""Start a local Superset for PulseOps from the main virtual environment.

Superset needs SQLAlchemy 1.4 and lives in its own venv (.venv-superset), so nothing here imports
it: the bootstrap and the web server run as child processes of that venv's python.

    server = start_superset(state_dir, "postgresql://user:pw@127.0.0.1:5432/pulseops")
    ...  # server.url, server.admin_username, server.admin_password
    server.stop()

With SUPERSET_CACHE_REDIS_URL set, a Celery worker and beat start beside the web server: they run
the asynchronous chart queries and the scheduled reports (superset_config.py).

Locally the Superset secrets are generated once and kept owner-only under `state_dir/secrets/`.
With PULSEOPS_ENV=production nothing is generated: SUPERSET_SECRET_KEY and SUPERSET_ADMIN_PASSWORD
must come from the environment (the deployment's secret store).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from urllib.parse import quote, urlsplit, urlunsplit

from pulseops_core.secrets import secret
from pulseops_core.settings import REPO_ROOT
from pulseops_core.warehouse_logins import ANALYST_ROLE
from superset_config.client_identity import KEY_VARIABLE

# What Superset itself loads (settings, bootstrap, dashboards), as files: its venv runs them.
CONFIG_DIR = REPO_ROOT / "superset_config"
ADMIN_USERNAME = "admin"
# What Superset's processes inherit from the environment that starts them (superset_env).
INHERITED_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "TMPDIR",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "PULSEOPS_ENV",
        "SUPERSET_METADATA_URL",
        "SUPERSET_CACHE_REDIS_URL",
        "PULSEOPS_SUPERSET_DATA_CACHE",
        "PULSEOPS_SUPERSET_ASSETS",
        "PULSEOPS_REDIS_PREFIX",
        "PULSEOPS_CHROMEDRIVER",
        "SUPERSET_PUBLIC_URL",
        "SUPERSET_SMTP_HOST",
        "SUPERSET_SMTP_PORT",
        "SUPERSET_SMTP_USER",
        "SUPERSET_SMTP_PASSWORD",
        "SUPERSET_SMTP_MAIL_FROM",
        "SUPERSET_SMTP_STARTTLS",
        "SUPERSET_SMTP_SSL",
        "PULSEOPS_SUPERSET_WORKERS",
        "PULSEOPS_SUPERSET_WEB_PROCESSES",
        "PULSEOPS_SUPERSET_WEB_THREADS",
        "PULSEOPS_SUPERSET_ASYNC_QUERIES",
    }
)
CELERY_APP = "superset.tasks.celery_app:app"
HEALTH_TIMEOUT_S = 120
BOOTSTRAP_TIMEOUT_S = 600

log = logging.getLogger(__name__)


@dataclass
class SupersetServer:
    url: str
    admin_username: str
    admin_password: str = field(repr=False)
    # derives the warehouse passwords of client viewers' logins (client_identity.py)
    client_login_key: str = field(repr=False)
    process: subprocess.Popen
    state_dir: Path
    log_path: Path
    # the Celery worker and beat, when there is a Redis
    celery: list[subprocess.Popen] = field(default_factory=list)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM lets gunicorn and Celery stop their workers themselves; SIGKILL only if one hangs."""
        for process in (*self.celery, self.process):
            if process.poll() is None:
                process.terminate()
        for process in (*self.celery, self.process):
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def superset_python() -> Path:
    """The Superset venv's interpreter; PULSEOPS_SUPERSET_VENV points elsewhere (e.g. in images)."""
    venv = Path(os.environ.get("PULSEOPS_SUPERSET_VENV") or REPO_ROOT / ".venv-superset")
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(
            f"{python} not found: create it with `python -m venv {venv}` and "
            f"`{venv}/bin/pip install -r superset_config/requirements.lock`"
        )
    return python


def superset_sqlalchemy_url(warehouse_url: str) -> str:
    """Superset's SQLAlchemy 1.4 talks to PostgreSQL through psycopg2: name that driver explicitly."""
    scheme, sep, rest = warehouse_url.partition("://")
    if not sep:
        raise ValueError("warehouse URL must look like postgresql://user:password@host:port/db")
    if scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"unsupported warehouse URL scheme {scheme!r}; PostgreSQL is expected")
    return f"postgresql+psycopg2://{rest}"


def analyst_sqlalchemy_url(warehouse_url: str, password: str) -> str:
    """The warehouse URL with the read-only analyst login in place of the owner's."""
    parts = urlsplit(superset_sqlalchemy_url(warehouse_url))
    netloc = f"{ANALYST_ROLE}:{quote(password, safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def stored_analyst_password(state_dir: Path) -> str | None:
    """The password the pipeline gave the warehouse's read-only role, if it has run here.

    Never generated here: the role and its password are made by the pipeline's dbt step.
    """
    if os.environ.get("PULSEOPS_ANALYST_PASSWORD"):
        return os.environ["PULSEOPS_ANALYST_PASSWORD"]
    path = state_dir / "secrets" / "analyst_password"
    return path.read_text().strip() if path.exists() else None


def superset_env(state_dir: Path) -> dict[str, str]:
    """Environment of every Superset process: where its state and settings are, and its keys.

    Built from an allowlist, never from the whole of os.environ: the process that starts Superset
    may hold the warehouse owner's credentials (DATABASE_URL, the PULSEOPS_PG_* variables dbt
    reads) or cloud keys, and a web server facing every client must not.
    """
    home = state_dir / "superset"
    home.mkdir(parents=True, exist_ok=True)
    return {
        # Two instances on one Redis (tests, a shared machine) keep their queues and keys apart.
        "PULSEOPS_REDIS_PREFIX": "pulseops_" + hashlib.sha256(str(state_dir).encode()).hexdigest()[:10],
        **{name: value for name, value in os.environ.items() if name in INHERITED_VARIABLES},
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(CONFIG_DIR / "superset_config.py"),
        "SUPERSET_SECRET_KEY": secret(state_dir, "SUPERSET_SECRET_KEY"),
        KEY_VARIABLE: secret(state_dir, KEY_VARIABLE),
        "PYTHONUNBUFFERED": "1",
    }


def run_bootstrap(
    state_dir: Path, warehouse_url: str, analyst_password: str | None = None, extra_env: dict[str, str] | None = None
) -> None:
    """Migrate the metadata DB, ensure roles and the admin user, (re)import the dashboards.

    `analyst_password` is the password of the warehouse's read-only role (default: the one the
    pipeline stored under state_dir); Superset never connects with the owner's credentials.
    """
    state_dir = Path(state_dir).resolve()
    env = {**superset_env(state_dir), **(extra_env or {})}
    # Only the bootstrap gets the admin password and the analyst login's: the web server reads the
    # latter, encrypted, from its metadata database.
    env["SUPERSET_ADMIN_PASSWORD"] = secret(state_dir, "SUPERSET_ADMIN_PASSWORD")
    password = analyst_password or stored_analyst_password(state_dir)
    if not password:
        raise RuntimeError(
            "the read-only analyst login's password is unknown: run the pipeline first "
            "(it creates the login), or set PULSEOPS_ANALYST_PASSWORD"
        )
    env["PULSEOPS_ANALYST_URI"] = analyst_sqlalchemy_url(warehouse_url, password)
    log_path = _log_path(state_dir, "bootstrap.log")
    with log_path.open("ab") as out:
        result = subprocess.run(
            [str(superset_python()), str(CONFIG_DIR / "bootstrap.py")],
            env=env,
            cwd=env["SUPERSET_HOME"],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=BOOTSTRAP_TIMEOUT_S,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"Superset bootstrap failed ({result.returncode}):\n{_tail(log_path)}")


def start_superset(
    state_dir: Path,
    warehouse_url: str,
    port: int | None = None,
    analyst_password: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> SupersetServer:
    """Bootstrap Superset under `state_dir` and serve it on 127.0.0.1 until `stop()` is called.

    `extra_env` reaches every Superset process (e.g. PULSEOPS_SUPERSET_DATA_CACHE=off).
    """
    state_dir = Path(state_dir).resolve()
    run_bootstrap(state_dir, warehouse_url, analyst_password, extra_env)
    port = port or _free_port()
    # The report worker's browser opens the dashboards on this server.
    env = {**superset_env(state_dir), "SUPERSET_WEBDRIVER_BASEURL": f"http://127.0.0.1:{port}/", **(extra_env or {})}
    gunicorn = superset_python().parent / "gunicorn"
    log_path = _log_path(state_dir, "gunicorn.log")
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [
                str(gunicorn),
                # A request is mostly Python work: more processes than cores, each with few
                # threads, keep both cores busy without the threads queueing on one interpreter.
                "-w",
                env.get("PULSEOPS_SUPERSET_WEB_PROCESSES", "4"),
                "-k",
                "gthread",
                "--threads",
                env.get("PULSEOPS_SUPERSET_WEB_THREADS", "4"),
                "-b",
                f"127.0.0.1:{port}",
                # A cold first query on a busy 2-core machine can outlast gunicorn's 30 s default.
                "--timeout",
                "120",
                # Without it gunicorn 27 keeps a control socket under $HOME.
                "--no-control-socket",
                "superset.app:create_app()",
            ],
            env=env,
            cwd=env["SUPERSET_HOME"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group, so a hung server can be killed with all its workers.
            start_new_session=True,
        )
    server = SupersetServer(
        url=f"http://127.0.0.1:{port}",
        admin_username=ADMIN_USERNAME,
        admin_password=secret(state_dir, "SUPERSET_ADMIN_PASSWORD"),
        client_login_key=env[KEY_VARIABLE],
        process=process,
        state_dir=state_dir,
        log_path=log_path,
    )
    try:
        if env.get("SUPERSET_CACHE_REDIS_URL"):
            server.celery = start_celery(state_dir, env)
        _wait_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def start_celery(state_dir: Path, env: dict[str, str]) -> list[subprocess.Popen]:
    """Superset's Celery worker (chart queries, reports) and beat (the report scheduler's clock).

    Run exactly one beat per Redis prefix: two would send every due report twice.
    """
    celery = str(superset_python().parent / "celery")
    concurrency = env.get("PULSEOPS_SUPERSET_WORKERS", "4")
    commands = {
        "celery-worker.log": [
            celery,
            f"--app={CELERY_APP}",
            "worker",
            "--pool=prefork",
            "-O",
            "fair",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
        ],
        "celery-beat.log": [
            celery,
            f"--app={CELERY_APP}",
            "beat",
            "--loglevel=INFO",
            f"--schedule={state_dir / 'superset' / 'celerybeat-schedule'}",
        ],
    }
    processes = []
    try:
        for log_name, command in commands.items():
            with _log_path(state_dir, log_name).open("ab") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        cwd=env["SUPERSET_HOME"],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
    except BaseException:
        for process in processes:
            process.kill()
        raise
    return processes


def _wait_healthy(server: SupersetServer) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Superset exited with {server.process.returncode}:\n{_tail(server.log_path)}")
        for process in server.celery:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Superset's Celery ({' '.join(process.args[2:4])}) exited with "
                    f"{process.returncode}; see {server.log_path.parent}"
                )
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Superset not healthy after {HEALTH_TIMEOUT_S} s:\n{_tail(server.log_path)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_path(state_dir: Path, name: str) -> Path:
    folder = state_dir / "superset" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


if __name__ == "__main__":
    # `python -m pulseops_cli.superset_service STATE_DIR WAREHOUSE_URL [PORT]` serves until Ctrl-C.
    logging.basicConfig(level=logging.INFO)
    args = sys.argv[1:]
    if len(args) not in (2, 3):
        sys.exit("usage: python -m pulseops_cli.superset_service STATE_DIR WAREHOUSE_URL [PORT]")
    with start_superset(Path(args[0]), args[1], int(args[2]) if len(args) == 3 else None) as srv:
        print(f"Superset at {srv.url} (user {srv.admin_username})", flush=True)
        try:
            srv.process.wait()
        except KeyboardInterrupt:
            pass
