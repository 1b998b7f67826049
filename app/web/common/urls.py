"""URL converters: an `<int:...>` segment beyond what the database can hold is simply not a match (404),
instead of an overflow deep in the query."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2 ** 63 - 1  # BIGINT / SQLite INTEGER


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
