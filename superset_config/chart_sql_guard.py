"""What SQL a chart request may carry, checked where Superset checks access (its security manager).

Superset's chart-data endpoints accept SQL written by the caller: custom SQL columns, metrics,
filters and WHERE/HAVING text. Only people who may write SQL anyway (SQL Lab's roles) may send it:
  - every other role (MSP Analyst, IT Manager, Client Viewer) gets its saved charts and filters:
    a request may name the dataset's columns and saved metrics, aggregate a column with a plain
    aggregate, and filter on column values, but any SQL text of its own is refused with 403;
  - the legacy explore endpoint is refused to them too (every PulseOps chart uses the chart-data
    API);
  - for everyone, SQL text that calls a function of DISALLOWED_SQL_FUNCTIONS (those that run a
    query given as text, sleep, write large objects or files, change settings) is refused on the
    chart path as SQL Lab refuses it.
Each refusal is logged with the user and what was refused. This is the second layer: a client
viewer's queries run as its own warehouse login under PostgreSQL row-level security
(client_sessions.py), which holds whatever SQL gets through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from flask import current_app
from superset.errors import ErrorLevel, SupersetError, SupersetErrorType
from superset.exceptions import SupersetSecurityException
from superset.security import SupersetSecurityManager

import access
from chart_requests import all_sql, own_sql

log = logging.getLogger("pulseops.security")


def refused(message: str) -> SupersetSecurityException:
    return SupersetSecurityException(
        SupersetError(error_type=SupersetErrorType.QUERY_SECURITY_ACCESS_ERROR, message=message, level=ErrorLevel.ERROR)
    )


def as_request(query) -> dict:
    """A Superset QueryObject in the shape of the chart-data API's request."""
    return {
        "metrics": query.metrics,
        "orderby": query.orderby,
        "series_limit_metric": query.series_limit_metric,
        "columns": query.columns,
        "series_columns": query.series_columns,
        "filters": query.filter,
        "extras": query.extras,
    }


def disallowed_functions(texts: Iterable[str]) -> set[str]:
    names = current_app.config["DISALLOWED_SQL_FUNCTIONS"].get("postgresql", set())
    found = set()
    for text in texts:
        found.update(name for name in names if re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE))
    return found


class PulseOpsSecurityManager(SupersetSecurityManager):
    def raise_for_access(self, *args, **kwargs) -> None:
        super().raise_for_access(*args, **kwargs)
        query_context, viz = kwargs.get("query_context"), kwargs.get("viz")
        if viz is not None and not self.may_write_sql():
            self._refuse("the legacy explore endpoint", "The legacy chart endpoint is not available to your role.")
        if query_context is None:
            return
        datasource = query_context.datasource
        if getattr(datasource, "type", "table") != "table":
            self._refuse(f"a {datasource.type} datasource", "Charts may read datasets only.")
        queries = query_context.queries
        if not self.may_write_sql():
            columns = {column.column_name for column in datasource.columns}
            written = [text for query in queries for text in own_sql(as_request(query), columns)]
            if written:
                self._refuse(
                    f"SQL {written!r} on {datasource.name}",
                    "Custom SQL is not available to your role: use the chart's columns, metrics and filters.",
                )
            if any(query.annotation_layers for query in queries):
                self._refuse("annotation layers", "Annotation layers are not available to your role.")
        functions = disallowed_functions(text for query in queries for text in all_sql(as_request(query)))
        if functions:
            self._refuse(
                f"functions {sorted(functions)} on {datasource.name}",
                f"These SQL functions are not allowed: {', '.join(sorted(functions))}.",
            )

    def may_write_sql(self) -> bool:
        return bool({role.name for role in self.get_user_roles()} & set(access.SQL_WRITER_ROLES))

    def _refuse(self, what: str, message: str) -> None:
        user = self.current_user
        log.warning("refused chart request from %s: %s", getattr(user, "username", "anonymous"), what)
        raise refused(message)
