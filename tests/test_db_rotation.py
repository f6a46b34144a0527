"""Services survive RDS rotating the master password: a refused password makes them read the secret again.

The server is real and enforces passwords: the embedded PostgreSQL (scram-sha-256 on 127.0.0.1). The
system server on 5432 trusts every TCP connection (pg_hba `host all all 127.0.0.1/32 trust`), so it
accepts any password and could not show a refused one. A rotation is what RDS does: the role's
password changes on the server (ALTER ROLE) and the new value is put in the secret. Only the AWS
control plane is stood in for: Secrets Manager is moto_server, reached by boto3 through
AWS_ENDPOINT_URL_SECRETS_MANAGER, exactly the calls the code makes on AWS.
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import uuid
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from psycopg import sql

from pulseops_core import db_secret
from pulseops_core.settings import Settings
from pulseops_core.warehouse import resolve_database_url
from tests.support import REPO, environment, free_port, moto_server


@pytest.fixture(scope="module")
def password_server(tmp_path_factory):
    """A PostgreSQL server that checks passwords; yields its superuser URL."""
    from pulseops_core import embedded_postgres

    state = tmp_path_factory.mktemp("rotation-server")
    server = embedded_postgres.ensure_running(state, state / "secrets")
    try:
        yield server.url
    finally:
        embedded_postgres.stop(state)


@pytest.fixture(scope="module")
def secrets_manager():
    """boto3's Secrets Manager client on moto_server, with the environment that points the code at it."""
    import boto3

    with moto_server() as endpoint:
        # moto accepts any credentials; these are not secrets of any real account
        env = {
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        with environment(**env):
            yield boto3.client("secretsmanager")


class Master:
    """A stand-in for the RDS master user: a login whose password rotates, and its secret."""

    def __init__(self, server_url: str, client):
        self.server_url, self.client = server_url, client
        self.name = f"master_{uuid.uuid4().hex[:8]}"
        self.password = secrets.token_urlsafe(24) + "@:/%"  # RDS passwords may hold URL syntax
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role {} login createdb createrole password {}").format(
                    sql.Identifier(self.name), sql.Literal(self.password)
                )
            )
        self.secret_arn = client.create_secret(
            Name=f"rds!db-{uuid.uuid4()}", SecretString=json.dumps({"username": self.name, "password": self.password})
        )["ARN"]
        parts = urlsplit(server_url)
        self.host, self.port = parts.hostname, str(parts.port)

    def url(self, password: str | None = None) -> str:
        from urllib.parse import quote

        return f"postgresql://{self.name}:{quote(password or self.password, safe='')}@{self.host}:{self.port}/pulseops"

    def rotate(self) -> str:
        """What RDS does: a new password on the server, and the same value in the secret."""
        old, self.password = self.password, secrets.token_urlsafe(24)
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(self.name), sql.Literal(self.password))
            )
        self.client.put_secret_value(
            SecretId=self.secret_arn, SecretString=json.dumps({"username": self.name, "password": self.password})
        )
        return old

    def env(self, password: str) -> dict[str, str]:
        return {
            "PULSEOPS_DB_HOST": self.host,
            "PULSEOPS_DB_PORT": self.port,
            "PULSEOPS_DB_USER": self.name,
            "PULSEOPS_DB_PASSWORD": password,
            "PULSEOPS_DB_SSLMODE": "disable",
            "PULSEOPS_DB_NAME": "pulseops",
            "PULSEOPS_DB_SECRET_ARN": self.secret_arn,
        }


@pytest.fixture
def master(password_server, secrets_manager):
    return Master(password_server, secrets_manager)


def _entrypoint():
    spec = importlib.util.spec_from_file_location("entrypoint", REPO / "infra" / "docker" / "entrypoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pipeline_reads_the_rotated_password_after_a_refused_login(master):
    before = master.url()
    with environment(
        DATABASE_URL=before,
        PULSEOPS_DB_SECRET_ARN=master.secret_arn,
        PULSEOPS_DB_USER=master.name,
        PULSEOPS_DB_PASSWORD=master.password,
    ):
        assert resolve_database_url(Settings.from_env()) == before
        old = master.rotate()

        # the password the process holds is really refused by the server now
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(before).close()
        assert db_secret.is_authentication_failure(refused.value)
        db_secret._checked_at.clear()  # as after RECHECK_SECONDS

        after = resolve_database_url(Settings.from_env())

        assert unquote(urlsplit(after).password) == master.password != old
        with psycopg.connect(after) as conn:
            assert conn.execute("select current_user").fetchone()[0] == master.name
        # later connections, dbt's environment among them, start from the refreshed variables
        assert Settings.from_env().database_url == after
        import os

        assert os.environ["PULSEOPS_DB_PASSWORD"] == master.password


def test_an_unreachable_server_is_not_taken_for_a_rotation(master):
    # no server on this port; the secret does not exist, so reading it would raise
    url = f"postgresql://{master.name}:x@127.0.0.1:{free_port()}/pulseops"
    missing = master.secret_arn.replace("rds!db", "missing")
    with environment(PULSEOPS_DB_SECRET_ARN=missing):
        assert db_secret.current_url(url) == url


def test_nothing_happens_without_a_secret_arn(master):
    master.rotate()
    stale = master.url("not-the-password")
    with environment(PULSEOPS_DB_SECRET_ARN=None):
        assert db_secret.current_url(stale) == stale


def test_the_entrypoint_starts_with_the_current_password_and_the_health_check_asks_for_a_new_task(master):
    entrypoint = _entrypoint()
    started_with = master.password
    assert entrypoint.check_database(master.env(started_with)) == 0

    master.rotate()

    # a running task: the password it started with is refused, so its health check fails
    assert entrypoint.check_database(master.env(started_with)) == 1
    # the task ECS starts next (or a task whose injected value was already stale) re-reads the secret
    env = master.env(started_with)
    assert entrypoint.use_current_master_password(env) is True
    assert env["PULSEOPS_DB_PASSWORD"] == master.password
    assert entrypoint.check_database(env) == 0
    url = entrypoint.derived_environment(env)["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        assert conn.execute("select current_user").fetchone()[0] == master.name
    # an unreachable server is not a reason to replace the task
    assert entrypoint.check_database({**env, "PULSEOPS_DB_PORT": str(free_port())}) == 0


def test_the_code_server_gives_superset_its_own_login_and_database(master):
    entrypoint = _entrypoint()
    env = master.env(master.password)
    login, database = f"superset_{uuid.uuid4().hex[:8]}", f"superset_meta_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(24)

    entrypoint.ensure_superset_login(env, password, login=login, database=database)
    entrypoint.ensure_superset_login(env, password, login=login, database=database)  # every start: idempotent

    url = f"postgresql://{login}:{password}@{master.host}:{master.port}/{database}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table metadata_probe (id int)")  # it owns its database
        flags = conn.execute(
            "select rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = current_user"
        ).fetchone()
    assert flags == (False, False, False)
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"postgresql://{login}:wrong@{master.host}:{master.port}/{database}").close()
    assert db_secret.is_authentication_failure(refused.value)

    # a new value in its secret re-keys the login on the code server's next start
    rekeyed = secrets.token_urlsafe(24)
    entrypoint.ensure_superset_login(env, rekeyed, login=login, database=database)
    psycopg.connect(url.replace(password, rekeyed)).close()
