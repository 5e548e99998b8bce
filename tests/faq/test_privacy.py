"""Personal information in FAQ text: what is found, what scrubbing leaves."""

import pytest

from faq import privacy

SIGNATURE = (
    "申請が送れません。どうすればよいですか。\n"
    "------------------------------\n"
    "株式会社サクラ精機 人事課\n"
    "担当：中島 健二\n"
    "〒330-0063 埼玉県さいたま市浦和区高砂2-1-8\n"
    "TEL：03-5521-8890\n"
    "Mail：k.nakajima@sakura-seiki.example.co.jp\n"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ＴＥＬ：０３－５５２１－８８９０", "phone"),
        ("携帯 09012345678 まで", "phone"),
        ("+81-3-5521-8890", "phone"),
        ("k.nakajima@sakura-seiki.example.co.jp", "email"),
        ("〒100-8926", "postal_code"),
        ("東京都千代田区霞が関1丁目2番3号", "address"),
        ("マイナンバーは1234 5678 9012です", "number12"),
        ("○○工業（株）の鈴木です。", "person_name"),
        ("田中様にお伝えください", "person_name"),
    ],
)
def test_each_kind_is_found(text, kind):
    assert [f.kind for f in privacy.find(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "Edgeでログインしても戻されます。",  # the dictionary tags Edge as a name: latin is ignored
        "到達番号 202611090001234567 の申請",  # 18 digits: an arrival number, not a 12-digit one
        "2026-11-09 に送信しました。受付時間は9:00-17:00です。",
        "マイナンバーカードの署名用電子証明書の有効期限",
        "英大文字を含むパスワード",
        "中央区の窓口",  # a place name alone is not an address
    ],
)
def test_ordinary_faq_text_is_not_flagged(text):
    assert privacy.find(text) == []


def test_scrub_replaces_every_finding_and_counts_them():
    out = privacy.scrub(SIGNATURE)
    assert "中島" not in out.text and "健二" not in out.text and "8890" not in out.text
    assert "nakajima" not in out.text and "高砂" not in out.text and "330-0063" not in out.text
    assert "担当:〔氏名〕" in out.text  # surname and given name: one placeholder
    assert out.removed == {"person_name": 2, "phone": 1, "email": 1, "postal_code": 1, "address": 1}
    assert privacy.find(out.text) == []  # what scrubbing leaves passes the publish check


def test_known_requester_details_and_allowed_public_numbers():
    out = privacy.scrub(
        "ひまわり会の件です。0570-000-111 にかけました。", known=["ひまわり会"], allowed=["0570-000-111"]
    )
    assert out.text == "〔問い合わせ者の情報〕の件です。0570-000-111 にかけました。"
    assert out.removed == {"requester": 1}


def test_describe_names_the_fragments_for_the_admin():
    assert privacy.describe(privacy.find("鈴木 03-1234-5678")) == "氏名（鈴木）、電話番号（03-1234-5678）"
