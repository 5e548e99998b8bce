"""Japanese substring search over inquiry text.

Japanese has no spaces between words, so the search is a substring match, not a word
match. On PostgreSQL the `trgm_icontains` lookup renders `col ILIKE '%term%'`, which the
pg_trgm GIN indexes of migration 0002 (`inquiry_subject_trgm`, `inquiry_body_trgm`) serve.
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
    """NFKC (half-width ｶﾅ → full-width カナ, full-width ＡＢＣ１２３ → ABC123), collapsed spaces.
    Stored text is compared as written, so each term is also tried in half-width kana."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value or "")).strip()


def _build_halfwidth_map() -> dict[str, str]:
    """Full-width katakana (and 。「」、・ー) → the half-width form NFKC folds into it,
    dakuten/handakuten included (パ → ﾊﾟ)."""
    table: dict[str, str] = {}
    for code in range(0xFF61, 0xFFA0):
        half = chr(code)
        for suffix in ("", "\uff9e", "\uff9f"):
            full = unicodedata.normalize("NFKC", half + suffix)
            if len(full) == 1 and full != half + suffix and full not in table:
                table[full] = half + suffix
    return table


_HALFWIDTH = _build_halfwidth_map()


def to_halfwidth_kana(value: str) -> str:
    return "".join(_HALFWIDTH.get(ch, ch) for ch in value)


def term_variants(term: str) -> list[str]:
    """The forms a term may be stored in. Text is stored as the citizen or agent typed it
    (the demo data has 「gBizIDｱﾌﾟﾘ」), so a query matches full-width and half-width kana."""
    variants = [term]
    half = to_halfwidth_kana(term)
    if half != term:
        variants.append(half)
    return variants


def search_terms(value: str) -> list[str]:
    """Space-separated terms (full-width spaces count after NFKC), at most MAX_TERMS."""
    normalized = normalize_query(value)
    return [t for t in normalized.split(" ") if t][:MAX_TERMS]


def text_search_q(value: str, fields: tuple[str, ...]) -> Q:
    """Every term must occur in at least one of `fields`."""
    condition = Q()
    for term in search_terms(value):
        any_field = Q()
        for variant in term_variants(term):
            for field in fields:
                any_field |= Q(**{f"{field}__trgm_icontains": variant})
        condition &= any_field
    return condition
