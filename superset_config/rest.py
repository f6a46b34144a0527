"""A small client of Superset's REST API for the operator commands (standard library only).

Logs in with a password (bearer token), keeps the session cookie the CSRF token is bound to, and
sends that token with every write, as Superset requires.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_URL = f"http://127.0.0.1:{os.environ.get('PULSEOPS_SUPERSET_PORT', '8088')}"


class SupersetError(RuntimeError):
    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url} -> {status}: {body[:1000]}")
        self.status = status


class SupersetClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 120):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._headers = {"Accept": "application/json"}
        token = self.request(
            "POST",
            "/api/v1/security/login",
            {"username": username, "password": password, "provider": "db", "refresh": False},
        )["access_token"]
        self._headers["Authorization"] = f"Bearer {token}"
        csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]
        self._headers.update({"X-CSRFToken": csrf, "Referer": self.base_url})

    def request(self, method: str, path: str, payload: dict | None = None, raw: bool = False, **params):
        url = self.base_url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data is not None else {})}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise SupersetError(method, url, error.code, error.read().decode(errors="replace")) from None
        return body if raw else json.loads(body or b"{}")

    def find(self, resource: str, column: str, value: str) -> list[dict]:
        """Rows of /api/v1/<resource>/ whose `column` equals `value`."""
        escaped = value.replace("!", "!!").replace("'", "!'")
        query = f"(filters:!((col:{column},opr:eq,value:'{escaped}')),page_size:100)"
        return self.request("GET", f"/api/v1/{resource}/", q=query)["result"]


def admin_password(password_file: Path | None = None) -> str:
    """--password-file, else SUPERSET_ADMIN_PASSWORD, else the password `make run` generated."""
    if password_file:
        return password_file.read_text().strip()
    if os.environ.get("SUPERSET_ADMIN_PASSWORD"):
        return os.environ["SUPERSET_ADMIN_PASSWORD"]
    from pulseops_core.settings import Settings

    stored = Settings.from_env().secrets_dir / "superset_admin_password"
    if stored.exists():
        return stored.read_text().strip()
    raise SystemExit("give --password-file, set SUPERSET_ADMIN_PASSWORD, or run `make run` first")
