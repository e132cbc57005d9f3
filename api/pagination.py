"""Cursor pagination: lists are ordered by id, newest first; the cursor is an opaque token
holding the last id seen, so pages stay stable while rows are added."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from api.errors import BadRequestError

T = TypeVar("T")

#: Largest id, the implicit cursor of the first page.
FIRST = 2**63 - 1

CursorQuery = Annotated[
    str | None,
    Query(max_length=64, description="``next_cursor`` of the previous page; omit for the first"),
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="page size")]


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page")


def decode(cursor: str | None) -> int:
    """The id to continue below (exclusive); 400 for a cursor this API did not issue."""
    if cursor is None:
        return FIRST
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not valid; start again without one") from exc
    if not 0 < value <= FIRST:
        raise BadRequestError("the cursor is not valid; start again without one")
    return value


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def page(rows: Sequence[Any], limit: int, convert: Callable[[Any], T]) -> Page[T]:
    """A page from rows fetched with ``LIMIT limit + 1`` (the extra row means there is more)."""
    items = [convert(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page[T](items=items, next_cursor=encode(rows[limit - 1]["id"]) if more else None)


def decode_text(cursor: str | None) -> str | None:
    """The text key to continue below (exclusive), for lists keyed by text (devices); ``None``
    for the first page; 400 for a cursor this API did not issue."""
    if cursor is None:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequestError("the cursor is not valid; start again without one") from exc
    if not value or "\x00" in value:
        raise BadRequestError("the cursor is not valid; start again without one")
    return value


def text_page(rows: Sequence[Any], limit: int, convert: Callable[[Any], T]) -> Page[T]:
    """Like :func:`page` for rows keyed by a text ``id``."""
    items = [convert(r) for r in rows[:limit]]
    if len(rows) <= limit:
        return Page[T](items=items, next_cursor=None)
    token = base64.urlsafe_b64encode(rows[limit - 1]["id"].encode()).decode().rstrip("=")
    return Page[T](items=items, next_cursor=token)
