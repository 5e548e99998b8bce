"""Parsing real-world-shaped Japanese mail: encodings, RFC 2047, structures, malformed input."""

import base64
import datetime as dt

import pytest

from helpdesk.mail.parse import message as message_module
from helpdesk.mail.parse.message import NotAMailMessage, parse_message, sanitize_html
from tests.helpdesk.mail import builders as b

TOKYO = dt.timezone(dt.timedelta(hours=9))

SUBJECT = "【至急】e-Gov電子申請の送信エラー"
BODY = "お世話になっております。\n申請データを送信すると「エラー」と表示されます。"


@pytest.fixture(autouse=True, params=["fast path", "stdlib parser"])
def parser_path(request, monkeypatch):
    """Every test here runs through both readings of a message: the fast path for simple
    messages (`simple_message`) and the stdlib parser alone."""
    if request.param == "stdlib parser":
        monkeypatch.setattr(message_module, "simple_message", lambda raw: None)


@pytest.mark.parametrize("charset", ["iso-2022-jp", "shift_jis", "euc-jp", "utf-8"])
def test_each_japanese_charset_decodes_subject_name_and_body(charset):
    raw = b.message(subject=SUBJECT, body=BODY, charset=charset, from_name="山田 太郎")

    parsed = parse_message(raw)

    assert parsed.subject == SUBJECT
    assert parsed.from_name == "山田 太郎"
    assert parsed.from_address == "taro@example.com"
    assert parsed.body_text.replace("\r\n", "\n").strip() == BODY
    assert parsed.charset_problem is False


def test_iso2022jp_with_cp50220_extensions_keeps_circled_digits_ladder_taka_and_halfwidth_kana():
    text = "①申請者 髙橋 ｶﾀｶﾅ ②"
    raw = b.message(subject=text, body=text, from_name="髙橋 﨑子", charset="iso-2022-jp")
    assert b.cp50220("髙") and pytest.raises(UnicodeDecodeError, b.cp50220("髙").decode, "iso2022_jp")

    parsed = parse_message(raw)

    assert parsed.subject == text
    assert parsed.body_text.strip() == text
    assert parsed.from_name == "髙橋 﨑子"
    assert parsed.charset_problem is False


@pytest.mark.parametrize("cte", ["base64", "quoted-printable", "8bit"])
def test_transfer_encodings(cte):
    parsed = parse_message(b.message(body=BODY, charset="utf-8", cte=cte))
    assert parsed.body_text.replace("\r\n", "\n").strip() == BODY


def test_encoded_word_split_in_the_middle_of_a_character_is_joined_before_decoding():
    data = "マイナンバーカードの読み取り".encode()
    first, second = data[:10], data[10:]  # 10 bytes: splits the 4th character
    subject = f"=?UTF-8?B?{base64.b64encode(first).decode()}?=\r\n =?UTF-8?B?{base64.b64encode(second).decode()}?="
    raw = (
        f"From: a@example.com\r\nSubject: {subject}\r\nMessage-ID: <s@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    ).encode()

    assert parse_message(raw).subject == "マイナンバーカードの読み取り"


def test_q_encoded_and_mixed_charset_words():
    raw = (
        f"From: {b.q_word('佐藤', 'shift_jis')} {b.b_word('花子', 'euc-jp')} <hanako@example.com>\r\n"
        f"Subject: Re: {b.q_word('件名', 'utf-8')} [EG-20261001-7KQ3MX]\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nx\r\n"
    ).encode()

    parsed = parse_message(raw)

    assert parsed.from_name == "佐藤花子"
    assert parsed.subject == "Re: 件名 [EG-20261001-7KQ3MX]"


def test_raw_8bit_shift_jis_headers_are_decoded_and_flagged():
    raw = (
        b"From: " + "鈴木 一郎".encode("cp932") + b" <ichiro@example.jp>\r\n"
        b"Subject: " + "パスワードを忘れました".encode("cp932") + b"\r\n"
        b"Content-Type: text/plain; charset=shift_jis\r\n\r\n" + "本文です".encode("cp932")
    )

    parsed = parse_message(raw)

    assert parsed.subject == "パスワードを忘れました"
    assert parsed.from_name == "鈴木 一郎"
    assert parsed.from_address == "ichiro@example.jp"
    assert parsed.body_text == "本文です"
    assert parsed.charset_problem is True


def test_raw_iso2022jp_in_a_header_without_encoded_words():
    raw = b"From: x@example.jp\r\nSubject: " + b.cp50220("受付番号の確認") + b"\r\n\r\nbody"
    assert parse_message(raw).subject == "受付番号の確認"


@pytest.mark.parametrize(
    ("label", "actual"),
    [("us-ascii", "cp932"), ("iso-8859-1", "utf-8"), ("iso-2022-jp", "cp932"), ("utf-8", "euc_jp"), (None, "cp932")],
)
def test_mislabelled_or_missing_charset_is_decoded_best_effort_and_flagged(label, actual):
    body = "電子証明書の有効期限が切れています"
    ctype = "text/plain" + (f"; charset={label}" if label else "")
    raw = (
        f"From: a@example.com\r\nSubject: x\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".encode()
        + body.encode(actual)
    )

    parsed = parse_message(raw)

    assert parsed.body_text == body
    assert parsed.charset_problem is True


def test_unknown_charset_label_is_not_rejected():
    raw = b"From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\n" + "本文".encode()
    parsed = parse_message(raw)
    assert parsed.body_text == "本文"
    assert parsed.charset_problem is True


def test_multipart_alternative_mixed_with_attachments_and_cap():
    raw = (
        b"From: a@example.com\r\nSubject: logs\r\nMessage-ID: <m@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
        b'--OUT\r\nContent-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
        b"--ALT\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + b.cp50220("ログを添付します")
        + b"\r\n--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + "<p>ログを<b>添付</b>します</p>".encode()
        + b"\r\n--ALT--\r\n"
        b"--OUT\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename*=UTF-8''%E7%94%BB%E9%9D%A2.png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(b"\x89PNG" + b"0" * 100) + b"--OUT\r\n"
        b'Content-Type: text/plain; charset=utf-8; name="' + b.b_word("エラーログ.txt").encode() + b'"\r\n'
        b"Content-Disposition: attachment\r\n\r\n" + b"x" * 5000 + b"\r\n--OUT--\r\n"
    )

    parsed = parse_message(raw, max_attachment_bytes=1000)

    assert parsed.body_text.strip() == "ログを添付します"
    assert "<b>添付</b>" in parsed.body_html
    png, log = parsed.attachments
    assert (png.filename, png.content_type, png.size, png.truncated) == ("画面.png", "image/png", 104, False)
    assert png.content.startswith(b"\x89PNG")
    assert (log.filename, log.size, log.truncated, log.content) == ("エラーログ.txt", 5000, True, None)


def test_html_only_mail_becomes_safe_text_and_sanitized_html():
    html = (
        "<html><head><style>body{color:red}</style><script>alert('x')</script></head>"
        '<body onload="alert(1)"><p>ログイン<br>できません&amp;困っています</p>'
        '<img src="https://tracker.example.com/p.gif" onerror="alert(2)">'
        '<a href="javascript:alert(3)">link</a><a href="https://www.e-gov.go.jp/" onclick="x()">e-Gov</a>'
        '<iframe src="https://evil.example"></iframe><svg onload=alert(4)></svg></body></html>'
    )
    raw = b.message(body=html, content_type="text/html", charset="shift_jis")

    parsed = parse_message(raw)

    assert "ログイン\nできません&困っています" in parsed.body_text
    assert "alert" not in parsed.body_text and "color:red" not in parsed.body_text
    lowered = parsed.body_html.lower()
    for forbidden in ("<script", "onload", "onerror", "onclick", "<img", "javascript:", "<iframe", "<style", "<svg"):
        assert forbidden not in lowered
    assert 'href="https://www.e-gov.go.jp/"' in parsed.body_html


def test_sanitize_html_strips_dangerous_attributes_and_urls():
    dirty = '<a href="data:text/html,<script>alert(1)</script>" style="x">a</a><form><input></form>'
    clean = sanitize_html(dirty)
    assert "data:" not in clean and "style" not in clean and "<form" not in clean and "<input" not in clean


def test_received_time_from_topmost_received_header_else_date():
    with_received = b.message(received="Thu, 01 Oct 2026 10:05:30 +0900", date="Thu, 01 Oct 2026 00:59:00 +0000")
    parsed = parse_message(
        b"Received: from relay2 by mx; Thu, 01 Oct 2026 10:05:30 +0900\r\n"
        b"Received: from client by relay2; Thu, 01 Oct 2026 10:01:00 +0900\r\n" + with_received.split(b"\r\n", 1)[1]
    )
    assert parsed.received_at == dt.datetime(2026, 10, 1, 10, 5, 30, tzinfo=TOKYO)
    assert parsed.date == dt.datetime(2026, 10, 1, 9, 59, tzinfo=TOKYO)

    only_date = parse_message(b.message(date="Thu, 01 Oct 2026 01:00:00 +0000"))
    assert only_date.received_at == dt.datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)


def test_date_without_zone_is_tokyo_time_and_garbage_date_is_none():
    assert parse_message(b.message(date="Thu, 01 Oct 2026 10:00:00 -0000")).date == dt.datetime(
        2026, 10, 1, 10, 0, tzinfo=TOKYO
    )
    assert parse_message(b.message(date="yesterday afternoon")).date is None


def test_missing_message_id_gets_a_stable_hash_independent_of_line_endings():
    crlf = b.message(message_id=None)
    lf = crlf.replace(b"\r\n", b"\n")

    a, c = parse_message(crlf), parse_message(lf)

    assert a.message_id_generated and a.message_id.endswith("@generated.invalid>")
    assert a.message_id == c.message_id
    assert parse_message(b.message(message_id=None, body="other")).message_id != a.message_id


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "auto-submitted:auto-replied"),
        ({"X-EG-Auto-Ack": "1"}, "x-eg-auto-ack"),
        ({"X-Autoreply": "yes"}, "x-autoreply"),
        ({"Precedence": "auto_reply"}, "precedence"),
    ],
)
def test_automatic_messages_are_detected(headers, reason):
    parsed = parse_message(b.message(extra_headers=headers))
    assert parsed.is_auto and parsed.auto_reason == reason


def test_bounce_and_person_mail():
    bounce = parse_message(b.message(from_addr="MAILER-DAEMON@mx.example.jp", from_name=""))
    assert bounce.is_auto
    assert not parse_message(b.message(extra_headers={"Auto-Submitted": "no"})).is_auto


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02 not mail"])
def test_not_mail_is_refused(raw):
    with pytest.raises(NotAMailMessage):
        parse_message(raw)


def test_truncated_base64_and_broken_multipart_still_parse():
    raw = (
        b'From: a@example.com\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode("途中で切れた本文".encode())[:-3]
    )
    parsed = parse_message(raw)
    assert parsed.subject == "broken"
    assert parsed.body_text.startswith("途中で切れた")


def test_references_and_in_reply_to():
    parsed = parse_message(b.message(in_reply_to="<b@x> (comment)", references="<a@x>\r\n <b@x>", extra_headers={}))
    assert parsed.in_reply_to == "<b@x>"
    assert parsed.references == ["<a@x>", "<b@x>"]


def test_an_rfc2231_charset_that_is_not_ascii_once_decoded_does_not_stop_the_message():
    # get_content_charset() gives up on such a value and get_param() returns a tuple: the
    # parser once passed that tuple on and failed on `.strip()`; the message is now read
    # with the charset treated as unknown (a problem noted, the text kept).
    raw = (
        b"From: citizen@example.jp\r\nTo: support@example.go.jp\r\nSubject: test\r\n"
        b"Message-ID: <rfc2231-charset@example.jp>\r\nDate: Thu, 01 Oct 2026 10:00:00 +0900\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset*=utf-8''%E3%81%82\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "電子申請のエラーについて".encode()
    parsed = parse_message(raw)
    assert "電子申請" in parsed.body_text
