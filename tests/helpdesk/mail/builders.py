"""Build real-world-shaped mail bytes the way Japanese mail clients write them."""

from __future__ import annotations

import base64
import quopri


def b_word(text: str, charset: str = "utf-8") -> str:
    data = encode(text, charset)
    return f"=?{charset.upper()}?B?{base64.b64encode(data).decode()}?="


def q_word(text: str, charset: str = "utf-8") -> str:
    data = quopri.encodestring(encode(text, charset), header=True).decode()
    return f"=?{charset.upper()}?Q?{data}?="


def sjis_to_jis(pair: bytes) -> bytes:
    s1, s2 = pair[0], pair[1]
    j1 = ((s1 - (0x70 if s1 < 0xA0 else 0xB0)) << 1) - 1
    if s2 >= 0x9F:
        j1 += 1
        j2 = s2 - 0x7E
    else:
        j2 = s2 - (0x20 if s2 >= 0x80 else 0x1F)
    return bytes((j1, j2))


def cp50220(text: str) -> bytes:
    """ISO-2022-JP as Outlook/Windows (CP50220) writes it: NEC and NEC-selected IBM
    characters as JIS pairs, half-width katakana as ESC ( I."""
    out = bytearray()
    mode = "ascii"
    for ch in text:
        if ch == "髙":
            sj = b"\xee\xe0"  # NEC-selected IBM extension, as CP50220 maps it
        elif ch == "﨑":
            sj = b"\xed\x95"
        else:
            sj = ch.encode("cp932")
        if len(sj) == 1 and sj[0] < 0x80:
            if mode != "ascii":
                out += b"\x1b(B"
                mode = "ascii"
            out += sj
        elif len(sj) == 1:
            if mode != "kana":
                out += b"\x1b(I"
                mode = "kana"
            out.append(sj[0] - 0x80)
        else:
            if mode != "jis":
                out += b"\x1b$B"
                mode = "jis"
            out += sjis_to_jis(sj)
    if mode != "ascii":
        out += b"\x1b(B"
    return bytes(out)


def encode(text: str, charset: str) -> bytes:
    if charset.lower() == "iso-2022-jp":
        return cp50220(text)
    return text.encode({"shift_jis": "cp932", "euc-jp": "euc_jp"}.get(charset.lower(), charset))


def message(
    *,
    subject: str = "e-Govの申請について",
    body: str = "申請データの送信でエラーになります。",
    charset: str = "utf-8",
    cte: str = "base64",
    from_name: str = "山田 太郎",
    from_addr: str = "taro@example.com",
    to: str = "support@e-gov-help.example.jp",
    message_id: str | None = "<q1@example.com>",
    date: str | None = "Thu, 01 Oct 2026 10:00:00 +0900",
    received: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    extra_headers: dict[str, str] | None = None,
    content_type: str = "text/plain",
    subject_charset: str | None = None,
    name_charset: str | None = None,
) -> bytes:
    """A single-part message. Headers use RFC 2047 B words in the body's charset."""
    hdrs = []
    if received:
        hdrs.append(f"Received: from mx.example.com by mail.e-gov-help.example.jp; {received}")
    sc = subject_charset or charset
    nc = name_charset or charset
    hdrs.append(f"From: {b_word(from_name, nc) if from_name else ''} <{from_addr}>")
    hdrs.append(f"To: {to}")
    hdrs.append(f"Subject: {b_word(subject, sc)}")
    if date:
        hdrs.append(f"Date: {date}")
    if message_id:
        hdrs.append(f"Message-ID: {message_id}")
    if in_reply_to:
        hdrs.append(f"In-Reply-To: {in_reply_to}")
    if references:
        hdrs.append(f"References: {references}")
    for k, v in (extra_headers or {}).items():
        hdrs.append(f"{k}: {v}")
    hdrs.append("MIME-Version: 1.0")
    hdrs.append(f"Content-Type: {content_type}; charset={charset}")
    data = encode(body, charset)
    if charset.lower() == "iso-2022-jp":
        cte = "7bit"
    hdrs.append(f"Content-Transfer-Encoding: {cte}")
    if cte == "base64":
        payload = base64.encodebytes(data)
    elif cte == "quoted-printable":
        payload = quopri.encodestring(data)
    else:
        payload = data.replace(b"\n", b"\r\n")
    return ("\r\n".join(hdrs) + "\r\n\r\n").encode("ascii") + payload


def reply(
    *, to_message_id: str, message_id: str, from_addr: str = "support@e-gov-help.example.jp", date: str, **kw
) -> bytes:
    return message(
        message_id=message_id,
        from_addr=from_addr,
        from_name=kw.pop("from_name", "電子政府利用支援センター"),
        in_reply_to=to_message_id,
        references=kw.pop("references", to_message_id),
        date=date,
        subject=kw.pop("subject", "Re: e-Govの申請について"),
        body=kw.pop("body", "お問い合わせありがとうございます。回答いたします。"),
        **kw,
    )


def mbox(messages: list[bytes]) -> bytes:
    """mboxrd: `From ` lines in bodies escaped with '>'."""
    out = bytearray()
    for raw in messages:
        raw = raw.replace(b"\r\n", b"\n")
        lines = []
        for line in raw.split(b"\n"):
            stripped = line.lstrip(b">")
            if stripped.startswith(b"From "):
                line = b">" + line
            lines.append(line)
        out += b"From MAILER-DAEMON Thu Oct  1 10:00:00 2026\n" + b"\n".join(lines).rstrip(b"\n") + b"\n\n"
    return bytes(out)
