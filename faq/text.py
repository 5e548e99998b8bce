"""Japanese inquiry text → content words. Pure functions over strings: no ORM, no I/O.

Pipeline: NFKC + lower-case → drop quoted replies, signatures and stock phrases → Sudachi
tokenization (mode C) → normalized forms of content words (nouns, verbs, adjectives) minus a
stop list. Sudachi's dictionary ships as the `sudachidict-core` package, so this works offline.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Lines that start a quoted original message; everything from there on is dropped.
_QUOTE_HEADERS = (
    re.compile(r"^-{2,}\s*original message\s*-{2,}"),
    re.compile(r"^-{2,}\s*(元の|転送|forwarded).*-{2,}"),
    re.compile(r"^on .+wrote:\s*$"),
    re.compile(r".+wrote:\s*$"),
    re.compile(r".+(さん|様)は書きました[:：]?\s*$"),
    re.compile(r".+(さん|様)?が書きました[:：]?\s*$"),
    re.compile(r"^(from|差出人)[:：].+"),
)
# Lines that start a signature block; everything from there on is dropped.
_SIGNATURE_STARTS = (
    re.compile(r"^--\s*$"),
    re.compile(r"^-- "),
    re.compile(r"^[━─=＝_＿*＊~～-]{4,}"),
)
# A sign-off: the rest of the message after it is a signature (name, company, phone).
_SIGN_OFFS = re.compile(
    r"^(以上[、,]?\s*)?(以上|(どうぞ|何卒)?(よろしく|宜しく)お願い(いた|致)?します|(よろしく|宜しく)お願い申し上げます|"
    r"ご回答お待ちしております|(至急)?ご対応いただけますと幸いです)[。、!！.]*\s*$"
)
# Stock phrases removed wherever they occur (after NFKC + lower-case).
STOCK_PHRASES: tuple[str, ...] = (
    "お世話になっております",
    "お世話になります",
    "いつもお世話になっております",
    "いつもお世話になります",
    "大変お世話になっております",
    "何卒よろしくお願い申し上げます",
    "何卒よろしくお願いいたします",
    "よろしくお願い申し上げます",
    "よろしくお願いいたします",
    "よろしくお願い致します",
    "宜しくお願いいたします",
    "宜しくお願い致します",
    "よろしくお願いします",
    "宜しくお願いします",
    "お手数ですがご確認ください",
    "お手数ですが",
    "お手数をおかけしますが",
    "恐れ入りますが",
    "ご回答お待ちしております",
    "ご教示ください",
    "ご教示いただけますでしょうか",
    "お忙しいところ恐縮ですが",
    "教えてください",
    "とのこと",
    "突然のご連絡失礼いたします",
    "突然のご連絡失礼致します",
    "至急ご対応いただけますと幸いです",
    "ご対応いただけますと幸いです",
)
_STOCK_RE = re.compile("|".join(re.escape(p) for p in sorted(STOCK_PHRASES, key=len, reverse=True)))
# Company / person tails in mail bodies ("○○工業(株) 鈴木") carry no topic.
_ORG_TAIL = re.compile(r"[\s\u3000]+\S*(\(株\)|株式会社|有限会社|法人|事務所|\(有\))\S*[\s\u3000]+\S+\s*$")

CONTENT_POS = frozenset({"名詞", "動詞", "形容詞"})
# Words too frequent in a help desk's traffic to tell topics apart.
STOP_WORDS: frozenset[str] = frozenset(
    {
        "する", "為る", "ある", "有る", "在る", "いる", "居る", "なる", "成る", "できる", "出来る",
        "れる", "られる", "ない", "無い", "よい", "良い", "いい", "こと", "事", "もの", "物", "ため", "為",
        "よう", "様", "方", "さん", "様子", "の", "ん", "とき", "時", "ところ", "所", "これ", "それ", "あれ",
        "どれ", "ここ", "そこ", "何", "なに", "どう", "いう", "言う", "思う", "お願い", "願い", "くださる",
        "下さる", "いただく", "頂く", "おる", "ござる", "御座る", "みる", "見る", "くる", "来る",
        "いく", "行く", "やる", "もらう", "貰う", "お客様", "客様", "お客", "案内", "質問", "確認", "問い合わせ",
        "問合せ", "お問い合わせ", "回答", "連絡", "件", "今", "昨日", "今日", "本日", "度", "回", "際", "場合",
        "以下", "上記", "について", "関する", "分かる", "わかる", "教える", "知る", "聞く", "e", "-", "了承",
        "入電", "gov", "egov", "可能", "可能性", "同じ", "中", "後", "前", "等", "ほか", "他", "自分", "私", "弊社", "当社",
        "御社", "貴社", "先日", "再度", "至急", "困る", "大変", "すみません", "済みません",
    }
)  # fmt: skip
_NUMBER = re.compile(r"^[0-9.,:/]+$")
# A sentence: up to its 。？！ (or the line's end) — how drafts and answers are cut.
SENTENCE = re.compile(r"[^。？?！!\n]+[。？?！!]?")


def normalize(text: str) -> str:
    """NFKC (full-width letters and half-width kana fold together) and lower-case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def strip_quotes_and_signature(text: str) -> str:
    """Drop quoted replies, and everything from a quote header, a signature rule or a sign-off
    line on. Case is kept (the patterns match the lower-cased line), so drafts can use it."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip().lower()
        if stripped.startswith((">", "＞", "|")):
            continue
        if any(p.match(stripped) for p in _QUOTE_HEADERS):
            break
        if any(p.match(stripped) for p in _SIGNATURE_STARTS):
            break
        if _SIGN_OFFS.match(stripped):
            break
        kept.append(line)
    return "\n".join(kept)


def strip_boilerplate(text: str) -> str:
    """Drop quoted replies, signatures, sign-offs and stock phrases from normalized text."""
    body = strip_quotes_and_signature(text)
    body = _STOCK_RE.sub(" ", body)
    body = _ORG_TAIL.sub("", body)
    return body.strip()


def clean(text: str) -> str:
    return strip_boilerplate(normalize(text))


_local = threading.local()


def _tokenizer() -> Any:  # a sudachipy Tokenizer (untyped)
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        tok = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
        _local.tokenizer = tok
    return tok


@lru_cache(maxsize=200_000)
def _content_words_cached(text: str) -> tuple[str, ...]:
    words: list[str] = []
    for m in _tokenizer().tokenize(text):
        pos = m.part_of_speech()
        if pos[0] not in CONTENT_POS:
            continue
        if pos[1] in ("数詞", "非自立可能"):
            continue  # numerals and dependent nouns (こと, ため) carry no topic
        form = m.normalized_form().lower()
        if form in STOP_WORDS or m.dictionary_form() in STOP_WORDS or _NUMBER.match(form):
            continue
        if len(form) == 1 and not ("\u4e00" <= form <= "\u9fff"):
            continue  # single kana / latin letters are noise; single kanji (印, 紙) can matter
        words.append(form)
    return tuple(words)


def content_words(text: str, *, cleaned: bool = False) -> list[str]:
    """Normalized forms of content words of `text` (raw unless `cleaned`)."""
    return list(_content_words_cached(text if cleaned else clean(text)))


def inquiry_text(subject: str, body: str) -> str:
    """The cleaned text of an inquiry as one string (subject first)."""
    return "\n".join(part for part in (clean(subject), clean(body)) if part)


def analyze(texts: Iterable[str]) -> list[list[str]]:
    return [content_words(t) for t in texts]
