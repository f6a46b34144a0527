# Superset with the PulseOps config and dashboards. Build from the repository root:
#   docker build -f infra/docker/superset.Dockerfile -t pulseops-superset .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SUPERSET_CONFIG_PATH=/opt/superset/app/superset_config/superset_config.py \
    SUPERSET_HOME=/tmp/superset

WORKDIR /opt/superset/app

# Debian's chromium and chromedriver: the Celery worker renders scheduled reports with them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# The same lock file as .venv-superset (Superset needs SQLAlchemy 1.4, hence its own set).
COPY superset_config/requirements.lock superset_config/requirements.lock
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip sync --system --no-cache superset_config/requirements.lock

COPY superset_config/ superset_config/
COPY infra/docker/entrypoint.py infra/docker/entrypoint.py

RUN useradd --uid 10001 --no-create-home superset \
 && mkdir -p "$SUPERSET_HOME" && chown superset "$SUPERSET_HOME"
USER superset

EXPOSE 8088
ENTRYPOINT ["python", "/opt/superset/app/infra/docker/entrypoint.py"]
# Migrations, roles, the admin and the dashboards are idempotent: every start brings them up to date.
CMD ["sh", "-c", "python superset_config/bootstrap.py && exec gunicorn -w 4 -k gthread --threads 4 --timeout 120 -b 0.0.0.0:8088 --no-control-socket 'superset.app:create_app()'"]
