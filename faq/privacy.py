"""Personal information in text that may be published (FAQ drafts). Pure: no ORM, no I/O.

A draft's question and answer are built from citizens' inquiries and agents' replies, and a
published entry is read by anyone. `find` reports what still looks personal; `scrub` replaces it
with a bracketed placeholder (〔電話番号〕) and says what it removed; the publish service refuses
text in which `find` still reports anything.

Detected:
* regexes (on NFKC text): mail addresses, phone numbers (0…/+81…, 10–11 digits), postal codes
  (〒 or ddd-dddd), 12-digit numbers (マイナンバー, 法人番号 minus the check digit — any 12-digit
  run), street addresses (prefecture … city/ward/town/village … block numbers);
* Sudachi's proper-noun tags (`名詞,固有名詞,人名,姓|名`): surnames anywhere — help-desk text
  quotes them in greetings and signatures (「○○工業の鈴木です」「担当：中島 健二」) — and given
  names next to a surname or an honorific; `名詞,固有名詞,地名` followed by block numbers
  (an address Sudachi read as one place name);
* `known` strings: the requester's name, mail, phone and organization stored on the inquiries.

Latin-letter "names" (`Edge` is tagged 人名 by the dictionary) are ignored: mail addresses and
URLs are the regexes' business.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LABELS: dict[str, str] = {
    "email": "メールアドレス",
    "phone": "電話番号",
    "postal_code": "郵便番号",
    "address": "住所",
    "number12": "12桁の番号",
    "person_name": "氏名",
    "requester": "問い合わせ者の情報",
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# 0X-XXXX-XXXX, 0XX(XXX)XXXX, 0120-XXX-XXX, 090XXXXXXXX, +81-3-…; digit count checked below.
_PHONE = re.compile(
    r"(?<![\d-])(?:\+81[-\s]?|0)\d{1,4}(?:[-\s(（)）]{1,2}\d{1,4}){1,2}(?![\d-])|(?<!\d)0\d{9,10}(?!\d)"
)
_POSTAL = re.compile(r"〒\s*\d{3}-?\d{4}(?!\d)|(?<![\d-])\d{3}-\d{4}(?![\d-])")
_NUMBER12 = re.compile(r"(?<![\d-])\d{4}[-\s]?\d{4}[-\s]?\d{4}(?![\d-])")
_PREF = r"(?:北海道|東京都|京都府|大阪府|[\u4e00-\u9fff]{2,3}県)"
_BLOCK = r"\d+(?:(?:丁目|番地?|号|[-の])\d*)+"
_ADDRESS = re.compile(_PREF + r"[^\s、。,]{0,20}?[市区町村郡][^\s、。,]{0,20}?(?:" + _BLOCK + r")")
_BLOCK_AFTER = re.compile(r"\s?(?:" + _BLOCK + r")")
_HONORIFICS = ("様", "さま", "さん", "殿", "氏", "先生")
_CJK_OR_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


def _tokenizer() -> Any:  # a sudachipy Tokenizer (untyped)
    from faq.text import _tokenizer as sudachi

    return sudachi()


def _sudachi_findings(text: str) -> list[Finding]:
    out: list[Finding] = []
    morphemes = list(_tokenizer().tokenize(text))
    for k, m in enumerate(morphemes):
        pos = m.part_of_speech()
        surface = m.surface()
        if pos[1] != "固有名詞" or not _CJK_OR_KANA.search(surface):
            continue
        if pos[2] == "人名" and pos[3] == "姓":
            out.append(Finding("person_name", m.begin(), m.end(), surface))
        elif pos[2] == "人名" and pos[3] == "名":
            prev = morphemes[k - 1] if k else None
            if prev is not None and prev.part_of_speech()[0] == "空白" and k >= 2:
                prev = morphemes[k - 2]
            after = text[m.end() : m.end() + 2]
            by_surname = prev is not None and prev.part_of_speech()[2:4] == ("人名", "姓")
            if by_surname or after.startswith(_HONORIFICS):
                out.append(Finding("person_name", m.begin(), m.end(), surface))
        elif pos[2] == "地名":
            tail = _BLOCK_AFTER.match(text, m.end())
            if tail:
                out.append(Finding("address", m.begin(), tail.end(), text[m.begin() : tail.end()]))
    return out


def find(text: str, *, known: Iterable[str] = (), allowed: Iterable[str] = ()) -> list[Finding]:
    """Spans of `text` (NFKC-normalized first; offsets refer to the normalized text) that look
    like personal information, without overlaps, in order. `allowed`: strings that are public on
    purpose (the help desk's own phone number or address) and never reported."""
    text = unicodedata.normalize("NFKC", text or "")
    if not text.strip():
        return []
    found: list[Finding] = []
    for value in known:
        value = unicodedata.normalize("NFKC", value or "").strip()
        if len(value) >= 2:
            found += [Finding("requester", m.start(), m.end(), value) for m in re.finditer(re.escape(value), text)]
    found += [Finding("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]
    found += [Finding("address", m.start(), m.end(), m.group()) for m in _ADDRESS.finditer(text)]
    for m in _PHONE.finditer(text):
        if 10 <= sum(c.isdigit() for c in m.group()) <= 12:
            found.append(Finding("phone", m.start(), m.end(), m.group()))
    found += [Finding("number12", m.start(), m.end(), m.group()) for m in _NUMBER12.finditer(text)]
    found += [Finding("postal_code", m.start(), m.end(), m.group()) for m in _POSTAL.finditer(text)]
    found += _sudachi_findings(text)
    allow = {unicodedata.normalize("NFKC", a).strip() for a in allowed}
    found = [f for f in found if f.text.strip() not in allow]
    # Earlier kinds win on overlap (a phone number is not also a postal code); then by position.
    kept: list[Finding] = []
    taken = [False] * (len(text) + 1)
    for f in found:
        if any(taken[f.start : f.end]):
            continue
        kept.append(f)
        for i in range(f.start, f.end):
            taken[i] = True
    return sorted(kept, key=lambda f: f.start)


@dataclass(frozen=True)
class Scrubbed:
    text: str
    removed: dict[str, int]  # kind → how many


def scrub(text: str, *, known: Iterable[str] = (), allowed: Iterable[str] = ()) -> Scrubbed:
    """`text` (NFKC) with every finding replaced by 〔label〕, and what was removed."""
    text = unicodedata.normalize("NFKC", text or "")
    findings = find(text, known=known, allowed=allowed)
    if not findings:
        return Scrubbed(text, {})
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(f"〔{f.label}〕")
        pos = f.end
    parts.append(text[pos:])
    out = "".join(parts)
    # Two names side by side (姓 + 名) read as one placeholder.
    out = re.sub(r"(〔氏名〕)(?:\s*〔氏名〕)+", r"\1", out)
    return Scrubbed(out, dict(Counter(f.kind for f in findings)))


def describe(findings: Iterable[Finding]) -> str:
    """「電話番号（03-1234-5678）、氏名（鈴木）」 for an error message to the admin."""
    return "、".join(f"{f.label}（{f.text}）" for f in findings)
