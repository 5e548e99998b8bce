"""What an agent told a caller, said to the citizen: the voice of a public FAQ answer. Pure: no ORM.

Agents log what they told a caller in the log's own voice — 「手動で再インストールするよう案内。」
「利用条件は開発者向けサイトに掲載している旨案内。」「対応認証局一覧のページを案内。」. An FAQ answer
says it to the citizen: 「手動で再インストールしてください。」「利用条件は開発者向けサイトに掲載して
います。」「対応認証局一覧のページをご確認ください。」.

`guidance` finds the clauses of a note that record what the agent told (〜よう案内, 〜旨説明,
〜と回答, 〜を案内) and says each as the answer would; everything else in a phone note is the
caller's situation or the call itself, and is left out. `answer` recasts a written resolution the
same way, keeping as written what it cannot recast. Verbs are conjugated from Sudachi's
conjugation type of the clause's last word; a clause whose ending is not known is not recast.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from faq import text

# What the agent did with the clause before it: 案内した, ご説明しました, 回答済み …
_TOLD = (
    r"(?:ご)?(?:案内|説明|回答|伝達|依頼|お願い|助言|指示|お伝え|伝え|勧め|推奨)(?:を)?(?:した|しました|済み?|する|た)?"
)
# 「…するよう案内」「…いただくように依頼」: the agent asked the caller to do something.
_REQUEST = re.compile(rf"^(?P<x>.+)よう(?:に)?{_TOLD}$")
# 「…できる旨説明」「…が必要と案内」「無料と回答」: the agent stated a fact.
_STATEMENT = re.compile(rf"^(?P<x>.+?)(?:である|だ)?(?:旨|こと|点|と)(?:を|も)?{_TOLD}$")
# 「…を試してもらったところ改善」「…を見ていただき解決」: a fix the agent walked the caller through.
_WALKED_THROUGH = re.compile(
    r"^(?P<x>.+[てで])(?:もら(?:った|っ\S?|い)|いただ(?:いた|き))(?:ら|たら)?(?:ところ.*|\s*(?:→|⇒).*|[、,].*)?$"
)
# 「早めの保存を推奨」: the agent recommended something.
_RECOMMENDATION = re.compile(r"^(?P<x>.+)を(?:推奨|お?勧め)(?:した|しました|た)?$")
# What follows the advice in the note: how the call went (「…を案内→改善」「…よう案内したところ
# 表示された」「…旨ご説明し了承いただいた」), or an aside in brackets at its end.
_AFTERMATH = re.compile(
    r"(?:(?:(?<=案内|説明|依頼)|(?<=お願い))(?:\s*(?:→|⇒).*|(?:した)?ところ.*|したが.*)|(?<=案内|説明|伝え)し(?:了承|終話|解決).*|\s*[（(][^）)]*[）)])$"
)
# 「…のページを案内」「手順書のURLをメール送付」: the agent pointed the caller at something.
_POINTER = re.compile(
    r"^(?P<x>.+)を(?:メールで?|口頭で)?(?:ご)?(?:案内|説明|紹介|送付|提示|依頼|お願い|お伝え|伝え)(?:した|しました|済み?|た)?$"
)
# Where a sentence joins two things told: 「…旨説明し、…を案内」「…できる旨と、…よう案内」.
_JOINS = re.compile(
    r"(?<=案内|説明|回答|依頼|伝達)(?:し(?![まてた])[、,]?|[、,])\s*|(?<=伝え)[、,]\s*|(?<=お伝え)し(?![まてた])[、,]?\s*|(?<=案内|説明|伝え)したが[、,]\s*|(?<=旨)と?[、,]\s*"
)
# The caller's situation leading into the advice: 「…とのことで、…するよう案内」; what this one
# call found, as a past reason (「…を直接開いていたため、…」「…も失敗したため、…」), or what the
# agent did (「状況を聞き取り、…」): a public answer does not carry one caller's case.
_SITUATION_LEAD = re.compile(r"^.*(?:とのことで?[、,]?|たため[、,]?|聞き取り[、,])\s*")
# A sentence already said to the citizen (a written resolution's 「…をご確認ください。」).
_POLITE = re.compile(r"(です|ます|ください|下さい|ません|ました|でした)$")
# How the caller's situation ends in a note: 「…とのこと」「…か質問」「…との入電」.
_SITUATION = re.compile(
    r"(とのこと|との(入電|電話|問い?合わせ|相談|質問|依頼|エラー)|(を|か)質問|質問された|を聞かれた)$"
)

# Where a caller is pointed to: a place to ask, not a page to read.
_CONTACTS = (
    "窓口", "ヘルプデスク", "センター", "事務所", "開発元", "提出先", "管理者",
    "担当者", "担当部署", "所管府省", "所管省庁", "府省", "省庁", "税務署", "法務局", "市区町村", "役所",
    "役場", "ハローワーク", "監督署", "サポート", "コールセンター", "ベンダー", "メーカー", "販売元", "認証局",
)  # fmt: skip
# Actions Sudachi does not take with する: 「再読み込みを案内」 is something to try.
_ACTIONS = ("込み", "直し", "替え", "やり直し")
# Things a caller uses rather than reads.
_TOOLS = ("インストーラ", "インストーラー", "ソフト", "ソフトウェア", "アプリ", "ツール", "機能", "最新版")
# Actions said with ご…ください rather than …してください.
_HONORIFIC = frozenset(
    {"確認", "相談", "連絡", "利用", "提出", "記入", "入力", "注意", "検討", "参照", "用意", "申請", "登録", "準備", "理解"}
)  # fmt: skip
# Nouns of things, not actions, though Sudachi allows them with する: 「一覧を案内」 is a list to
# read, not 「一覧してください」.
_NOT_ACTIONS = frozenset(
    {"一覧", "意味", "内容", "詳細", "概要", "案内", "説明", "記載", "仕様", "対応", "手続", "手続き", "状況", "結果",
     "予定", "規定", "通知", "回答", "質問", "問い合わせ", "問合せ", "機能", "お知らせ"}
)  # fmt: skip
_U_TO_I = str.maketrans("うくぐすつぬぶむる", "いきぎしちにびみり")
_TE = {
    "五段-カ行": "いて", "五段-ガ行": "いで", "五段-サ行": "して", "五段-タ行": "って", "五段-ラ行": "って",
    "五段-ワア行": "って", "五段-ナ行": "んで", "五段-バ行": "んで", "五段-マ行": "んで",
}  # fmt: skip


def _tokens(value: str) -> list[Any]:
    return list(text._tokenizer().tokenize(value)) if value else []


def _pos(token: Any) -> tuple[str, ...]:
    return tuple(token.part_of_speech())


def _conjugation(token: Any) -> str:
    return _pos(token)[4]


def _masu_stem(word: str, conjugation: str) -> str | None:
    """書く → 書き, 変える → 変え, する → し: the form before ます."""
    if conjugation == "サ行変格":
        return word[:-2] + "し" if word.endswith(("する", "ずる")) else None
    if conjugation == "カ行変格":
        return word[:-2] + ("き" if word.endswith("くる") else "来")
    if conjugation.startswith(("上一段", "下一段", "助動詞-レル", "助動詞-ラレル", "助動詞-セル", "助動詞-サセル")):
        return word[:-1] if word.endswith("る") else None
    if conjugation.startswith("五段"):
        return word[:-1] + word[-1].translate(_U_TO_I)
    return None


def _te_form(word: str, conjugation: str) -> str | None:
    """書く → 書いて, 行く → 行って, 変える → 変えて, する → して."""
    if conjugation == "サ行変格":
        return word[:-2] + "して" if word.endswith("する") else None
    if conjugation == "カ行変格":
        return word[:-2] + ("きて" if word.endswith("くる") else "来て")
    if conjugation.startswith(("上一段", "下一段")):
        return word[:-1] + "て"
    if conjugation == "五段-カ行" and word.endswith(("行く", "いく")):
        return word[:-1] + "って"
    ending = _TE.get(conjugation)
    return word[:-1] + ending if ending else None


def _sahen(token: Any) -> bool:
    return _pos(token)[2] == "サ変可能" and token.surface() not in _NOT_ACTIONS


def _trailing_noun(tokens: list[Any]) -> list[Any]:
    """The compound noun a phrase ends with (再 + 設定, 有効 + 化, 圧縮 ・ 分割), its tokens."""
    parts: list[Any] = []
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        pos = _pos(token)
        joins = token.surface() == "・" and parts and i > 0 and _pos(tokens[i - 1])[0] == "名詞"
        if pos[0] in ("名詞", "接頭辞", "接尾辞", "形状詞") or joins:
            parts.append(token)
            continue
        break
    return parts[::-1]


def _compound_head(token: Any) -> bool:
    """A word that makes a compound with the noun after it: a prefix (再) or a plain noun (補正, 動作)."""
    pos = _pos(token)
    return pos[0] == "接頭辞" or (pos[0] == "名詞" and (pos[1] == "固有名詞" or pos[2] in ("一般", "サ変可能")))


def _lists_actions(before: str) -> bool:
    """「PC再起動とアプリの」: the phrase lists actions (AとBのC), so its の does not mark an object."""
    head = before.rsplit("と", 1)[0] if "と" in before else ""
    tokens = _tokens(head)
    return bool(tokens) and _sahen(tokens[-1])


def _do(noun: str) -> str:
    """確認 → ご確認ください, 再インストール → 再インストールしてください."""
    return f"ご{noun}ください" if noun in _HONORIFIC else f"{noun}してください"


def request(clause: str) -> str | None:
    """「手動で再インストールする」 → 「手動で再インストールしてください。」"""
    clause = clause.strip()
    for asked in ("いただく", "頂く", "もらう", "下さる"):
        if clause.endswith(asked):
            rest = clause[: -len(asked)]
            tokens = _tokens(rest)
            if not tokens:
                return None
            if rest.endswith(("問い合わせ", "問合せ", "お問い合わせ")):
                return f"{re.sub('お?問い?合わ?せ$', '', rest)}お問い合わせください。"
            honorific = len(tokens) > 1 and tokens[-2].surface() in ("お", "ご", "御")
            if rest.endswith("て") or _pos(tokens[-1])[0] == "動詞" or honorific:  # お試しいただく
                return f"{rest}ください。"  # 確認していただく, お待ちいただく
            if _sahen(tokens[-1]):
                noun = tokens[-1].surface()
                return f"{rest[: -len(noun)]}{_do(noun)}。"
            if _pos(tokens[-1])[0] == "名詞":
                return f"{rest}してください。"  # 再実行いただく: a noun asked of the caller is an action
            return None
    tokens = _tokens(clause)
    if not tokens:
        return None
    last = tokens[-1]
    pos = _pos(last)
    if pos[0] == "助動詞" and last.surface() == "ない":
        return f"{clause}でください。"  # 変更しない → 変更しないでください
    if pos[0] != "動詞" or not pos[5].startswith("終止形"):
        return None
    word = last.surface()
    head = clause[: -len(word)]
    if word in ("問い合わせる", "問合せる"):
        return f"{head}お問い合わせください。"
    # 再確認する, 補正申請する: the noun is the end of a compound, which ご does not take
    # (再確認してください, not 再ご確認ください); 再度・翌日 (adverbial nouns) and ため are not part of it.
    compound = len(tokens) > 2 and _compound_head(tokens[-3])
    if (
        word == "する"
        and len(tokens) > 1
        and tokens[-2].surface() in _HONORIFIC
        and _sahen(tokens[-2])
        and not compound
    ):
        noun = tokens[-2].surface()
        return f"{head[: -len(noun)]}ご{noun}ください。"
    te = _te_form(word, _conjugation(last))
    return f"{head}{te}ください。" if te else None


def statement(clause: str) -> str | None:
    """「利用条件は開発者向けサイトに掲載している」 → 「…掲載しています。」, 「無料」 → 「無料です。」"""
    clause = clause.strip().rstrip("、,")
    if clause.endswith("な") and len(clause) > 1:
        clause = clause[:-1]  # 必要な旨 → 必要です
    for past in ("であった", "だった"):
        if clause.endswith(past) and len(clause) > len(past):
            return f"{clause[: -len(past)]}でした。"
    tokens = _tokens(clause)
    if not tokens:
        return None
    last = tokens[-1]
    pos = _pos(last)
    word = last.surface()
    head = clause[: -len(word)]
    if pos[0] == "助動詞" and word == "た" and len(tokens) > 1:
        verb = tokens[-2]
        stem = _masu_stem(verb.dictionary_form(), _conjugation(verb)) if _pos(verb)[0] == "動詞" else None
        return f"{head[: -len(verb.surface())]}{stem}ました。" if stem else None
    if pos[0] == "助動詞" and word == "ない" and len(tokens) > 1:
        verb = tokens[-2]
        stem = _masu_stem(verb.dictionary_form(), _conjugation(verb)) if _pos(verb)[0] == "動詞" else None
        return f"{head[: -len(verb.surface())]}{stem}ません。" if stem else None
    if pos[0] == "形容詞":
        return f"{head}ありません。" if word in ("ない", "無い") else f"{clause}です。"
    if pos[0] == "動詞" or (pos[0] == "助動詞" and _conjugation(last).startswith("助動詞-")):
        if not pos[5].startswith("終止形"):
            return None
        stem = _masu_stem(word, _conjugation(last))
        return f"{head}{stem}ます。" if stem else None
    if _sahen(last) and len(tokens) > 1 and tokens[-2].surface() == "を":
        return f"{clause}します。"  # 更新を推奨 → 更新を推奨します
    if pos[0] in ("名詞", "形状詞", "接尾辞", "代名詞") or (pos[0] == "補助記号" and len(tokens) > 1):
        return f"{clause}です。"
    return None


def pointer(phrase: str) -> str:
    """What the caller was pointed at, as an instruction: a place to ask (「…センターにお問い合わせ
    ください。」), an action (「ルート証明書をインストールしてください。」), a tool (「…をご利用
    ください。」), else a thing to read (「…のページをご確認ください。」)."""
    phrase = phrase.strip()
    core = re.sub(r"\s*[（(][^）)]*[）)]$", "", phrase).strip()
    core = re.sub(r"(等|など)$", "", core)
    if core.endswith("可能性") and len(core) > 3:
        return f"{core}があります。"  # ドライバが入っていない可能性を説明 → …可能性があります
    if core.endswith(_CONTACTS):
        return f"{phrase}にお問い合わせください。"
    tokens = _tokens(core)
    compound = _trailing_noun(tokens)
    noun = "".join(t.surface() for t in compound)
    if noun and _sahen(tokens[-1]) and core == phrase:
        before = core[: -len(noun)]
        action, object_ = compound[-1].surface(), compound[:-1]
        if object_ and _pos(object_[-1])[0] == "名詞" and (not _sahen(object_[-1]) or action == "確認"):
            # 要件確認 → 要件をご確認ください; ドライバ導入 → ドライバを導入してください;
            # ログイン確認 → ログインをご確認ください (but 補正申請 → 補正申請してください)
            return f"{before}{''.join(t.surface() for t in object_)}を{_do(action)}。"
        for particle in ("での", "からの", "への", "までの", "との", "にての"):
            if before.endswith(particle) and len(before) > len(particle):
                return f"{before[:-1]}{_do(noun)}。"  # サイトでの再設定 → サイトで再設定してください
        if before.endswith("の") and len(before) > 1 and not _lists_actions(before):
            return f"{before[:-1]}を{_do(noun)}。"
        if before.endswith("の"):
            return f"{phrase}をお試しください。"
        head = tokens[: len(tokens) - len(compound)]
        if head and _pos(head[-1])[0] == "動詞" and _pos(head[-1])[5].startswith("連用形"):
            return f"{before}を{_do(noun)}。"  # 読み取り確認 → 読み取りをご確認ください
        if head and _pos(head[-1])[0] in ("動詞", "助動詞") and _pos(head[-1])[5].startswith(("連体形", "終止形")):
            return f"{before}{noun}をしてください。"  # 許可する設定 → 許可する設定をしてください
        return f"{before}{_do(noun)}。"  # 一覧で確認 → 一覧でご確認ください; 再度連絡 → 再度ご連絡ください
    if core.endswith(_ACTIONS):
        return f"{phrase}をお試しください。"
    if core.endswith(_TOOLS):
        return f"{phrase}をご利用ください。"
    return f"{phrase}をご確認ください。"


def _told(clause: str) -> str | None:
    """One clause that records what the agent told, said to the citizen; None if it is not one."""
    clause = _SITUATION_LEAD.sub("", clause.strip().rstrip("。."))
    clause = _AFTERMATH.sub("", clause)
    if match := _REQUEST.match(clause):
        return request(match["x"])
    if match := _STATEMENT.match(clause):
        return statement(match["x"])
    if clause.endswith("旨"):
        return statement(clause[:-1])
    if match := _POINTER.match(clause):
        return pointer(match["x"])
    if match := _RECOMMENDATION.match(clause):
        return f"{match['x']}をお勧めします。"
    if match := _WALKED_THROUGH.match(clause):
        return f"{match['x']}ください。"
    return None


# A clause that says how the call ended (「…を案内し解決」): neither advice nor content.
_OUTCOME = re.compile(r"^(お客様)?(解決|改善|了承|納得|終話|解消)(済み|した|しました|いただいた|いただく)?[。.]?$")


def _clauses(sentence: str) -> list[str]:
    return [part for part in _JOINS.split(sentence.strip()) if part.strip() and not _OUTCOME.match(part.strip())]


def guidance(note: str) -> str:
    """What an agent's phone note says they told the caller, in the FAQ answer's voice; the
    caller's situation and the call itself left out. Empty when the note records no advice."""
    note = unicodedata.normalize("NFKC", note or "")
    told = [said for s in text.SENTENCE.findall(note) for c in _clauses(s) if (said := _told(c))]
    return "".join(dict.fromkeys(told))


def answer(resolution: str) -> str:
    """A written resolution in the FAQ answer's voice: what it records as told is recast, what is
    already said to the citizen or cannot be recast is kept as written (lines stay lines); the
    caller's situation (「…とのこと。」) and plain past observations (「表示された。」) are left out."""
    lines = []
    for line in resolution.splitlines():
        kept = []
        for sentence in text.SENTENCE.findall(line):
            core = sentence.strip().rstrip("。.")
            if not core:
                continue
            if _POLITE.search(core) and not re.search(rf"{_TOLD}$", core):
                kept.append(sentence.strip())
                continue
            if _SITUATION.search(core) or (core.endswith("た") and not core.endswith("ました")):
                continue
            said = [_told(c) for c in _clauses(core)]
            if said and all(said):
                kept.append("".join(s for s in said if s))
            else:
                kept.append(sentence.strip())
        lines.append("".join(kept))
    return "\n".join(line for line in lines if line).strip()
