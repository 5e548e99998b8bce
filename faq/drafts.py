"""FAQ draft text from a cluster's inquiries: a question a citizen would ask, an answer from the
agents' replies, with personal information scrubbed. Pure: no ORM.

* Question: a sentence a citizen wrote as a question (「…できますか。」「…方法を教えてください。」)
  in the cluster's inquiries — not an agent's phone log (「…とのこと。…を案内。」), not a greeting
  or a stock request. A very short question, or one that leans on what came before it
  (「この場合も…」「また、…」), keeps the sentence before it for context. Among them the one that
  reads best as an FAQ entry wins (`_question_rank`): one that stands alone, then one about the
  subject rather than the inquiry itself (「確認してください」「お知らせください」), then one holding
  a keyword of the cluster, then the most central. Sentences with personal information are passed
  over while a clean one exists. With no citizen question at all, one is made from the central
  subject.
* Answer: the first of the agents' resolutions as the caller orders them (the service: shared
  ones first, then the most central inquiry's), less its sentences about the call itself
  (「解決。」「折り返し不要。」), else the first written reply (quote, greeting and signature
  removed), else the advice of the cluster's phone notes (`agreed_guidance`). What an agent
  logged as told (「…するよう案内。」) is said to the citizen (「…してください。」: `faq/voice.py`).

Both pass through `privacy.scrub` (with the requesters' own names, mails and phones as known
strings) and the draft records what was removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from faq import privacy, text, voice

# Phone-log notes written by agents, not questions a citizen asked.
_AGENT_LOG = re.compile(
    r"とのこと|との(電話|問い?合わせ|相談|質問)|を?案内|と回答|を質問|か質問|入電|折返し|折り返し|お客様|了承|対応時間|で解消"
)
_PHONE_LOG = re.compile(r"とのこと|を案内|と回答|を質問|か質問")
_QUESTION_END = re.compile(r"(か|ですか|ますか|でしょうか|ませんか|たい(です)?|ください|下さい|[?？])$")
# Greetings, apologies and stock requests: never a question of their own.
_NOT_A_QUESTION = re.compile(
    r"^(お世話|いつも|お疲れ|突然|初めて?ご連絡|ご確認|ご対応|ご教示|お手数|恐れ入り|お忙しい|ご多忙|"
    r"よろしく|宜しく|何卒|以上|ご回答ありがとう|ご返信ありがとう|ありがとう)"
)
# A question that leans on the sentence before it: it does not stand alone as an FAQ entry.
_LEANS_ON_CONTEXT = re.compile(
    r"^(この|その(?!まま)|あの|こちら|そちら|これ(?!まで|から)|それ(?!ぞれ)|あれ|こう|そう|こんな|そんな|"
    r"同じ|同様|上記|前述|また|ただ|なお|さらに|それとも|あと|ちなみに|ほかに|他に|先ほど|ということ)"
)
# Requests about the inquiry itself rather than its subject: 「念のため確認してください」
# 「写しを添付しますのでご確認いただけますか」「ほかにあればお知らせください」
# 「ログをお送りしたほうがよいでしょうか」.
_ABOUT_THE_INQUIRY = re.compile(
    r"確認して(ください|下さい|いただけ|もらえ)|(ご確認|お知らせ|ご連絡|ご返信|ご回答)(ください|下さい|いただけ|願)|"
    r"お送りした(ほう|方)が|送(れ|っ)ば(よい|いい|よろしい)"
)
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd)\s*[:：]\s*|【[^】]*】\s*|[(（][^)）]*[)）]\s*)+", re.IGNORECASE)
_GREETING_LINE = re.compile(
    r"^(お世話になっております|いつもお世話になっております|お世話になります|大変お世話になっております|"
    r"電子政府利用支援センター(の\S+)?です|e-gov利用支援センター(の\S+)?です|.{1,40}?\s*(様|さま|殿))[。、]?\s*$",
    re.IGNORECASE,
)
MAX_QUESTION = 200


@dataclass
class Draft:
    question: str
    answer: str
    pii_removed: dict[str, int] = field(default_factory=dict)
    # where the answer came from: "resolution", "reply", "phone_notes", or "" (none)
    answer_source: str = ""


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "")


def _sentences(body: str) -> list[str]:
    return [s.strip() for s in text.SENTENCE.findall(body) if s.strip()]


def question_candidates(subject: str, body: str) -> list[str]:
    """The citizen questions in one inquiry, in order."""
    body = text.strip_quotes_and_signature(_nfkc(body))
    if _PHONE_LOG.search(body):
        return []  # an agent's phone note: it paraphrases, it does not ask
    sentences = _sentences(body)
    out: list[str] = []
    for i, s in enumerate(sentences):
        core = s.rstrip("。！!")
        if _NOT_A_QUESTION.match(core) or not _QUESTION_END.search(core) or _AGENT_LOG.search(core):
            continue
        before = sentences[i - 1] if i > 0 else ""
        if (
            before
            and not _NOT_A_QUESTION.match(before)
            and (len(core) < 20 or (_LEANS_ON_CONTEXT.match(core) and len(before) + len(s) <= MAX_QUESTION))
        ):
            s = before + s
        out.append(s if s.endswith(("。", "?", "？")) else s + "。")
    return out


def _question_rank(question: str, keywords: frozenset[str]) -> tuple[bool, bool, bool]:
    """How well a candidate reads as an FAQ question (higher is better): it stands alone, it
    asks about the subject rather than about the inquiry itself, it holds a cluster keyword
    at all (how many does not matter: a longer question holds more, not a better one)."""
    on_topic = bool(keywords) and not keywords.isdisjoint(text.content_words(question))
    return (not _LEANS_ON_CONTEXT.match(question), not _ABOUT_THE_INQUIRY.search(question), on_topic)


def clean_subject(subject: str) -> str:
    return _SUBJECT_PREFIX.sub("", _nfkc(subject)).strip()


def question_from_subject(subject: str) -> str:
    subject = clean_subject(subject).rstrip("。")
    if not subject:
        return ""
    if re.search(r"(ない|たい|ません|できる|する|した|です|ますか?|か)$", subject):
        return f"{subject}。どうすればよいですか。"
    return f"{subject}について教えてください。"


# Sentences of an agent's resolution about the call, not the answer: 「解決。」「お客様了承。」
# 「折り返し不要。」「再入電の可能性あり。」 — a public answer does not carry them.
_CALL_PROCESS = re.compile(
    r"^(【[^】]*】)?\s*((お客様|お客さま)?(了承|納得|了解)(済み|いただいた|された)?|解決(済み)?|解消|終話|"
    r"折り?返し(不要|済み?|予定)|再入電(の可能性あり|予定)?|様子見|クローズ|改善|未解決.*|後日連絡予定|"
    r"上長(へ|に).*(報告|エスカレーション).*|[（(]対応時間[^）)]*[）)])[。.]?$"
)


def resolution_text(resolution: str) -> str:
    """An agent's resolution as written, without the sentences about the call itself
    (`_CALL_PROCESS`); its lines stay lines."""

    def without_call_process(line: str) -> str:
        kept, at = [], 0
        for sentence in text.SENTENCE.finditer(line):
            if _CALL_PROCESS.match(sentence.group().strip()):
                kept.append(line[at : sentence.start()])
                at = sentence.end()
        kept.append(line[at:])
        return "".join(kept).strip()

    lines = (without_call_process(line) for line in resolution.splitlines())
    return "\n".join(line for line in lines if line).strip()


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def agreed_guidance(notes: Sequence[str], question: str = "") -> str:
    """What the agents' phone notes say they told callers (`voice.guidance`), in the answer's
    voice: the advice of the note that is most about the draft's `question` (the content words
    of the whole note against the question's) and shares the most words with the other notes'
    advice (the cluster's usual answer, not one call's), the two weighed alike; the first (most
    central) among equals."""
    told: dict[str, str] = {}
    for note in notes:
        if (advice := voice.guidance(note)) and advice not in told:
            told[advice] = note
    advice_list = list(told)
    if len(advice_list) < 2:
        return advice_list[0] if advice_list else ""
    words = [frozenset(text.content_words(a)) for a in advice_list]
    asked = frozenset(text.content_words(question))
    about = [_overlap(asked, frozenset(text.content_words(told[a]))) for a in advice_list]

    def score(i: int) -> float:
        support = sum(_overlap(words[i], w) for j, w in enumerate(words) if j != i) / (len(words) - 1)
        return about[i] + support

    return advice_list[max(range(len(advice_list)), key=lambda i: (score(i), -i))]


def reply_text(reply: str) -> str:
    """An agent's written reply without the quoted question, greetings and signature."""
    body = text.strip_quotes_and_signature(_nfkc(reply))
    lines = [line for line in body.splitlines() if not _GREETING_LINE.match(line.strip())]
    return "\n".join(lines).strip()


def build(
    inquiries: Sequence[tuple[str, str]],
    *,
    resolutions: Sequence[str] = (),
    replies: Sequence[str] = (),
    known: Iterable[str] = (),
    allowed: Iterable[str] = (),
    fallback_question: str = "",
    keywords: Iterable[str] = (),
) -> Draft:
    """A draft from (subject, body) of the cluster's inquiries (most central first), the agents'
    resolutions (most common first) and written replies (most central first); `keywords`: the
    cluster's (its c-TF-IDF keywords), which a good question holds."""
    known = [k for k in known if k]
    allowed = list(allowed)
    candidates = [q for subject, body in inquiries for q in question_candidates(subject, body)]
    clean = [q for q in candidates if not privacy.find(q, known=known, allowed=allowed)]
    words = frozenset(keywords)
    # (max keeps the first of equals: the most central)
    question = max(clean or candidates, key=lambda q: _question_rank(q, words), default="")
    if not question:
        question = next((q for q in (question_from_subject(s) for s, _b in inquiries) if q), fallback_question)
    sources = (
        ("resolution", lambda: next((t for t in (voice.answer(resolution_text(r)) for r in resolutions) if t), "")),
        ("reply", lambda: next((t for t in (reply_text(r) for r in replies) if t), "")),
        ("phone_notes", lambda: agreed_guidance([body for _subject, body in inquiries], question)),
    )
    answer, answer_source = "", ""
    for source, take in sources:
        if answer := take():
            answer_source = source
            break
    q = privacy.scrub(question[:MAX_QUESTION], known=known, allowed=allowed)
    a = privacy.scrub(answer, known=known, allowed=allowed)
    removed = dict(q.removed)
    for kind, n in a.removed.items():
        removed[kind] = removed.get(kind, 0) + n
    return Draft(q.text.strip(), a.text.strip(), removed, answer_source)
