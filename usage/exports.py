"""Streamed CSV / JSON exports of the per (day, user, model) breakdown (shared by the API and the pages)."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse

from usage.selectors import EXPORT_COLUMNS, UsageFilters, usage_export_rows

EXPORT_FORMATS = ("csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose ``write`` returns the line, so ``csv.writer`` can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _safe_cell(value: Any) -> Any:
    # Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with a quote.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    text_columns = {"username", "email", "model_id", "provider"}
    for row in rows:
        yield writer.writerow([_safe_cell(row[c]) if c in text_columns else row[c] for c in EXPORT_COLUMNS])


def _json_chunks(rows: Iterable[dict[str, Any]], filters: UsageFilters) -> Iterator[str]:
    head = {"currency": settings.PORTAL_CURRENCY_CODE, "timezone": "UTC",
            "period": {"start": filters.range.start.isoformat(), "end": filters.range.end.isoformat()},
            "columns": list(EXPORT_COLUMNS)}
    yield json.dumps(head)[:-1] + ', "rows": ['
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps(row)
        first = False
    yield "]}"


def export_response(*, actor: Any, filters: UsageFilters, fmt: str, prefix: str) -> StreamingHttpResponse:
    """A streamed attachment ``<prefix>-<start>-to-<end>.<fmt>``; the query runs while the body streams."""
    rows = usage_export_rows(actor=actor, filters=filters)
    name = f"{prefix}-{filters.range.start.isoformat()}-to-{filters.range.end.isoformat()}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(rows, filters), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Usage-Currency"] = settings.PORTAL_CURRENCY_CODE
    response["Cache-Control"] = "no-store"
    return response
