"""Helpers for the few hand-written SQL queries on hot paths.

The consent check and the API-key lookup run on every request; building
their SQL through the ORM costs more CPU than running it. Their SQL is plain
enough to run unchanged on PostgreSQL and SQLite.
"""
import datetime

from django.db import connection


def fetch_one(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def aware_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """Return a database timestamp as an aware UTC datetime.

    psycopg returns aware values; Django's SQLite converters return naive
    ones that are already in UTC.
    """
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.UTC)
