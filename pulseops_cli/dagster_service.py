"""Start the long-running services of a local PulseOps: the Dagster UI and daemon (`dagster dev`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pulseops_cli.dagster_home import prepare_dagster_home
from pulseops_core.settings import REPO_ROOT


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is not None:
            return
        # The service runs in its own process group: stop its children too.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_for_http(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {process.returncode}; see {log_path}:\n" + log_path.read_text()[-3000:]
            )
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not answering after {timeout:.0f} s; see {log_path}")


def start_dagster(state_dir: Path, port: int, env: dict[str, str] | None = None) -> Service:
    """`dagster dev` (webserver + daemon) over workspace.yaml, with DAGSTER_HOME under the state folder."""
    home = prepare_dagster_home(state_dir)
    log_path = state_dir / "logs" / "dagster.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = {
        **os.environ,
        **(env or {}),
        "DAGSTER_HOME": str(home),
        "PULSEOPS_HOME": str(state_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    service = Service("Dagster", f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_for_http(f"{service.url}/server_info", process, log_path)
    except Exception:
        service.stop()
        raise
    return service
