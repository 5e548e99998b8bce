"""Japanese substring search over inquiry text.

Japanese has no spaces between words, so the search is a substring match, not a word
match. Text is stored as typed — half-width ｶﾅ, full-width ＡＢＣ１２３, both inside one word
(「ｅ－Ｔａｘ」「ｱプリ」) — so both sides are compared in NFKC form: the query here, the
inquiry through its generated column `search_text` (NFKC of subject and body, kept by the
database on every write). On PostgreSQL the `trgm_icontains` lookup renders
`search_text ILIKE '%term%'`, which the pg_trgm GIN index of migration 0010
(`inquiry_search_trgm`) serves.
Django's own `icontains` renders `UPPER(col::text) LIKE UPPER(...)`, an expression those
indexes do not cover (verified with EXPLAIN: it falls back to a sequential scan), so it is
not used there. Other databases get plain `icontains`.

pg_trgm can only use the index for a term of three or more characters (a trigram needs
three); a one- or two-character term (「申請」) still works but is answered by walking the
recent-first index and filtering, which is quick for common terms — see docs/api.md.
"""

import re
import unicodedata

from django.db.models import CharField, Q, TextField
from django.db.models.lookups import IContains

_SPACES = re.compile(r"\s+")
MAX_TERMS = 5


class TrigramIContains(IContains):
    lookup_name = "trgm_icontains"

    def get_rhs_op(self, connection, rhs):
        if connection.vendor == "postgresql":
            return f"ILIKE {rhs}"
        return connection.operators["icontains"] % rhs

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return IContains(self.lhs, self.rhs).as_sql(compiler, connection)
        return super().as_sql(compiler, connection)


CharField.register_lookup(TrigramIContains)
TextField.register_lookup(TrigramIContains)


def normalize_query(value: str) -> str:
    """NFKC (half-width ｶﾅ → full-width カナ, full-width ＡＢＣ１２３ → ABC123), collapsed spaces:
    the form `Inquiry.search_text` holds."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value or "")).strip()


def search_terms(value: str) -> list[str]:
    """Space-separated terms (full-width spaces count after NFKC), at most MAX_TERMS."""
    normalized = normalize_query(value)
    return [t for t in normalized.split(" ") if t][:MAX_TERMS]


def text_search_q(value: str, fields: tuple[str, ...]) -> Q:
    """Every term must occur in at least one of `fields`."""
    condition = Q()
    for term in search_terms(value):
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__trgm_icontains": term})
        condition &= any_field
    return condition
