"""The pure text pipeline: normalization, boilerplate removal, Sudachi content words."""

from faq import text


def test_normalize_folds_full_width_and_half_width_kana_and_case():
    assert text.normalize("ｅ－Ｇｏｖ ｱﾌﾟﾘ ＡＢＣ") == "e-gov アプリ abc"


def test_quoted_reply_is_dropped():
    body = "送信エラーが出ます。\n> 以前のメール本文\n> 引用です\n続きの質問です。"
    cleaned = text.clean(body)
    assert "引用" not in cleaned
    assert "送信エラーが出ます。" in cleaned and "続きの質問です。" in cleaned


def test_everything_after_original_message_header_is_dropped():
    body = "到達番号はどこで分かりますか。\n-----Original Message-----\nFrom: center\n電子証明書の件"
    assert text.clean(body) == "到達番号はどこで分かりますか。"


def test_japanese_wrote_headers_cut_the_quote():
    for header in ("2026年9月1日 10:00 山田さんは書きました:", "On Mon, 1 Sep 2026, center wrote:"):
        cleaned = text.clean(f"ログインできません。\n{header}\n公文書の取得方法")
        assert "公文書" not in cleaned, header
        assert "ログインできません" in cleaned


def test_signature_and_sign_off_blocks_are_dropped():
    body = "ペイジーで納付できません。\n--\n株式会社サンプル 総務部\n03-1234-5678"
    assert text.clean(body) == "ペイジーで納付できません。"
    ruled = "署名エラーです。\n━━━━━━━━\n山田 太郎\ntaro@example.com"
    assert text.clean(ruled) == "署名エラーです。"
    signed = "証明書が読めません。\nよろしくお願いいたします。\n鈴木\n090-0000-0000"
    assert text.clean(signed) == "証明書が読めません。"


def test_sign_off_variants_end_the_message_too():
    """The closers citizens write in practice (found in the fresh labelled set, docs/faq.md): the
    name, company and phone after them are personal information, not topic."""
    for closer in (
        "以上、よろしくお願い致します。",
        "以上，宜しくお願いいたします。",
        "どうぞよろしくお願いいたします。",
        "何卒宜しくお願い致します。",
        "至急ご対応いただけますと幸いです。",
        "ご対応いただけますと幸いです。",
    ):
        body = f"電子証明書が読み込めません。\n{closer}\n\n有限会社かぎ工務店 高木\nTEL 03-1234-5678"
        assert text.clean(body) == "電子証明書が読み込めません。", closer
    # A closer inside a line of content is a stock phrase, not the end of the message.
    inline = "突然のご連絡失礼いたします。公文書を印刷したいです。至急ご対応いただけますと幸いです。続きです。"
    cleaned = text.clean(inline)
    assert "失礼" not in cleaned and "幸い" not in cleaned
    assert "公文書を印刷したいです。" in cleaned and "続きです。" in cleaned


def test_stock_phrases_are_removed_wherever_they_are():
    body = "お世話になっております。e-Govアプリが起動しません。お手数ですがご確認ください。"
    cleaned = text.clean(body)
    assert "お世話" not in cleaned and "お手数" not in cleaned
    assert "起動しません" in cleaned


def test_content_words_are_normalized_nouns_verbs_adjectives_without_particles():
    words = text.content_words("申請データを送信すると「送信に失敗しました」と表示されます。")
    assert "送信" in words and "失敗" in words and "表示" in words
    for dropped in ("を", "に", "と", "ます", "た", "「", "する", "為る"):
        assert dropped not in words


def test_normalized_forms_unify_spelling_variants():
    # Sudachi's normalized form maps variants to one form (half-width kana, old spellings).
    assert text.content_words("ｱﾌﾟﾘ") == text.content_words("アプリ")
    assert "インストーラー" in text.content_words("インストーラを実行")


def test_stop_words_and_numbers_are_dropped():
    words = text.content_words("お客様からの問い合わせについて確認をお願いします。2026年9月1日")
    assert not set(words) & {"お客様", "問い合わせ", "確認", "お願い", "2026"}


def test_inquiry_text_joins_cleaned_subject_and_body():
    joined = text.inquiry_text("Re: ログイン", "お世話になっております。\nパスワードを忘れました。")
    assert joined.startswith("re: ログイン\n")
    assert "お世話" not in joined and "パスワードを忘れました" in joined
