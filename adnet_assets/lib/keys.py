"""Typed entity keys: the one spelling of "which thing" a link or a network member points at.

    phone:+4741234567    ad:eskorte-annonser.example:104233    owner:O-17    address:<address_key>

The SQL helpers build the same strings inside DuckDB queries.
"""

from __future__ import annotations

ENTITY_TYPES = ("phone", "ad", "owner", "address")


def key(entity_type: str, value: str) -> str:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r}")
    return f"{entity_type}:{value}"


def split(typed: str) -> tuple[str, str]:
    entity_type, _, value = typed.partition(":")
    if entity_type not in ENTITY_TYPES or not value:
        raise ValueError(f"not a typed key: {typed!r}")
    return entity_type, value


def sql_key(entity_type: str, column_sql: str) -> str:
    """SQL expression for the typed key of a column: sql_key('phone', 'p.phone') -> 'phone:' || p.phone."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown entity type {entity_type!r}")
    return f"('{entity_type}:' || {column_sql})"
