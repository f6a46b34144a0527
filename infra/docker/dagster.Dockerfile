# The Dagster code location, webserver, daemon and run tasks (one image, the command picks the role).
# Build from the repository root:  docker build -f infra/docker/dagster.Dockerfile -t pulseops-dagster .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    PULSEOPS_HOME=/tmp/pulseops \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    GX_ANALYTICS_ENABLED=false

WORKDIR /opt/dagster/app

# The same lock file as `make install`, so the image runs exactly what the tests ran.
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv pip sync --system --no-cache requirements.lock

COPY pyproject.toml README.md workspace.yaml ./
COPY pulseops_core/ pulseops_core/
COPY orchestration/ orchestration/
COPY ingestion/ ingestion/
COPY ml_assets/ ml_assets/
COPY dbt_project/ dbt_project/
COPY infra/ infra/
RUN uv pip install --system --no-cache --no-deps -e . \
 && dagster-dbt project prepare-and-package --file orchestration/dbt_project.py

# dbt writes target/ and logs/ next to the project at run time, as the unprivileged user.
RUN useradd --uid 10001 --no-create-home dagster \
 && mkdir -p "$DAGSTER_HOME" "$PULSEOPS_HOME" \
 && cp infra/dagster/dagster.yaml "$DAGSTER_HOME/" \
 && chown -R dagster "$DAGSTER_HOME" "$PULSEOPS_HOME" dbt_project
USER dagster

EXPOSE 3000 4000
ENTRYPOINT ["python", "/opt/dagster/app/infra/docker/entrypoint.py"]
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "orchestration.definitions", "--location-name", "pulseops"]
