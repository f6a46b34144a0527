"""One SQL style: sqlfluff (dbt templater, PostgreSQL dialect, .sqlfluff) finds nothing in the models."""

from tests.support import throwaway_database


def test_models_pass_sqlfluff():
    from pulseops_cli.lint_sql import lint

    # The dbt templater compiles the project, which opens a connection (is_incremental() asks the database).
    with throwaway_database() as url:
        result = lint(url)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "FAIL" not in result.stdout
