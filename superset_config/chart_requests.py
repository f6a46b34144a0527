"""The SQL text a chart request carries (plain Python: the guard in Superset and the tests use it).

A request may name the dataset's columns and saved metrics and aggregate a column with a plain
aggregate; everything else it sends as SQL (custom SQL metrics and columns, WHERE/HAVING text) is
SQL of its own, which only roles that may write SQL may send (chart_sql_guard.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

PLAIN_AGGREGATES = {"AVG", "COUNT", "COUNT_DISTINCT", "MAX", "MIN", "SUM"}


def _written_sql(item, column_names: set[str]) -> str | None:
    """The SQL an adhoc metric or column carries of its own, or None when it only names the dataset's."""
    if item.get("expressionType") == "SIMPLE":
        column = item.get("column") or {}
        column = column.get("column_name") if isinstance(column, dict) else column
        aggregate = str(item.get("aggregate", "")).upper()
        return None if aggregate in PLAIN_AGGREGATES and column in column_names else f"{aggregate}({column})"
    # The front end sends a chart's x-axis as SQL that only names a column (isColumnReference).
    text = (item.get("sqlExpression") or "").strip()
    return None if text in column_names else text


def own_sql(query: Mapping, column_names: set[str]) -> Iterator[str]:
    """Each piece of SQL text a chart request's query carries beyond naming the dataset's columns
    and metrics (`query` as the chart-data API takes it: metrics, columns, filters, extras ...)."""
    items = [
        *(query.get("metrics") or []),
        *(item for item, _ in query.get("orderby") or []),
        query.get("series_limit_metric"),
        *(query.get("columns") or []),
        *(query.get("series_columns") or []),
        *(condition.get("col") for condition in query.get("filters") or []),
    ]
    for item in items:
        # a plain string names a saved metric or a column
        if isinstance(item, dict) and (text := _written_sql(item, column_names)) is not None:
            yield text
    extras = query.get("extras") or {}
    for clause in ("where", "having"):
        if (extras.get(clause) or "").strip():
            yield extras[clause]


def all_sql(query: Mapping) -> Iterator[str]:
    """Every piece of SQL text a query object carries, column names included."""
    return own_sql(query, column_names=set())
