"""Database functions the models need on both databases."""

import unicodedata

from django.db.models import Func, TextField


def nfkc(value: str | None) -> str | None:
    """NFKC in Python: registered as `nfkc()` on every SQLite connection (`helpdesk.apps`)."""
    return None if value is None else unicodedata.normalize("NFKC", value)


class Nfkc(Func):
    """The NFKC form of a text (half-width ｶﾅ → カナ, ＡＢＣ１ → ABC1): `normalize(x, NFKC)` on
    PostgreSQL (immutable, so usable in a generated column and its index), `nfkc(x)` on
    SQLite."""

    function = "nfkc"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="normalize(%(expressions)s, NFKC)", **extra_context)
