"""FAQ draft text from a cluster's inquiries: a citizen's question, the agents' answer, no
personal information."""

from faq import drafts, privacy

PII_MAIL = (
    "お世話になっております。\n"
    "株式会社ミナトの小川です。\n"
    "電子証明書の有効期限が切れていました。更新した証明書はどうやって登録し直せばよいでしょうか。\n"
    "折り返しは 090-1234-5678 にお願いします。\n"
    "よろしくお願いいたします。\n"
    "小川 正人\n"
    "ogawa@minato.example.jp"
)
PHONE_LOG = "署名時に証明書の有効期限切れのメッセージとのこと。認証局で更新後、署名し直すよう案内。"


def test_question_is_a_citizens_question_not_an_agents_log_note():
    d = drafts.build([("証明書有効期限", PHONE_LOG), ("電子証明書の期限切れ", PII_MAIL)])
    assert d.question == "更新した証明書はどうやって登録し直せばよいでしょうか。"
    assert d.pii_removed == {}


def test_a_question_with_personal_information_is_scrubbed_and_flagged():
    mail = "お世話になっております。e-Govに登録した鈴木の電話番号03-5521-8890を変更できますか。"
    d = drafts.build([("登録情報の変更", mail)], resolutions=["アカウント情報の変更画面から変更できます。"])
    assert "鈴木" not in d.question and "5521" not in d.question
    assert "〔電話番号〕" in d.question
    assert d.pii_removed == {"person_name": 1, "phone": 1}
    assert privacy.find(d.question) == []


def test_a_clean_question_is_preferred_over_one_with_personal_information():
    with_pii = "田中と申します。証明書の更新方法を教えていただけますか。"
    clean = "証明書を更新したら、e-Govで何か登録し直す必要がありますか。"
    d = drafts.build([("a", with_pii), ("b", clean)])
    assert d.question == clean and d.pii_removed == {}


def test_answer_from_the_agents_resolution_else_their_written_reply():
    reply = (
        "山田 太郎 様\n\nお世話になっております。\n電子政府利用支援センターです。\n"
        "認証局で更新した証明書を選び直してから、再度署名してください。\n\n"
        "--\n電子政府利用支援センター 担当 伊藤\n\n> 更新した証明書はどうやって登録し直せばよいでしょうか。"
    )
    d = drafts.build([("s", PII_MAIL)], resolutions=["", "新しい証明書で署名し直してください。"], replies=[reply])
    assert d.answer == "新しい証明書で署名し直してください。"
    assert d.answer_source == "resolution"
    d = drafts.build([("s", PII_MAIL)], replies=[reply])
    assert d.answer == "認証局で更新した証明書を選び直してから、再度署名してください。"
    assert d.answer_source == "reply"
    assert drafts.build([("s", PII_MAIL)]).answer_source == ""  # no answer at all
    assert d.pii_removed == {}


def test_known_requester_details_are_scrubbed_from_the_answer():
    d = drafts.build(
        [("s", PII_MAIL)], resolutions=["ミナト精工様には証明書の再登録を案内済み。"], known=["ミナト精工"]
    )
    assert "ミナト精工" not in d.answer and d.pii_removed == {"requester": 1}


def test_without_a_citizen_question_the_subject_makes_one():
    assert (
        drafts.build([("Re: 【至急】公文書の印刷方法", PHONE_LOG)]).question
        == "公文書の印刷方法について教えてください。"
    )
    assert drafts.build([("(折返し)送信できない", PHONE_LOG)]).question == "送信できない。どうすればよいですか。"


def test_a_question_that_leans_on_the_sentence_before_keeps_it():
    mail = (
        "お世話になります。\n認証局に確認したところ、当社の証明書は電子入札専用のものだそうです。"
        "これはe-Govの申請には使えないという意味でしょうか。\nよろしくお願いいたします。"
    )
    assert drafts.build([("証明書", mail)]).question == (
        "認証局に確認したところ、当社の証明書は電子入札専用のものだそうです。"
        "これはe-Govの申請には使えないという意味でしょうか。"
    )
    # (「これまで」「それぞれ」start a sentence that stands alone)
    mail = "ご回答ありがとうございます。これまでの申請をGビズIDでも見られるようにできますか。"
    assert drafts.build([("s", mail)]).question == "これまでの申請をGビズIDでも見られるようにできますか。"


def test_a_question_that_stands_alone_and_is_about_the_subject_wins_over_a_more_central_one():
    leaning = "お世話になります。\nこの場合、何を確認すればよいでしょうか。"  # no context to keep
    about_the_inquiry = "画面の写しを添付しますので、ご確認いただけますでしょうか。念のため確認してください。"
    standalone = "公文書はいつまでダウンロードできますか。"
    d = drafts.build([("a", leaning), ("b", about_the_inquiry), ("c", standalone)])
    assert d.question == standalone
    # with none better, the most central is still taken
    assert drafts.build([("a", leaning)]).question == "この場合、何を確認すればよいでしょうか。"


def test_among_equals_a_question_holding_a_cluster_keyword_wins_then_the_most_central():
    off_topic = "スマートフォンでも使えますか。"
    on_topic = "公文書をまとめてダウンロードする方法はありますか。"
    also_on_topic = "公文書の保存期間はいつまでですか。"
    inquiries = [("a", off_topic), ("b", on_topic), ("c", also_on_topic)]
    assert drafts.build(inquiries).question == off_topic  # (no keywords: the most central)
    assert drafts.build(inquiries, keywords=["公文書", "ダウンロード"]).question == on_topic


def test_an_answer_from_a_resolution_leaves_out_what_was_about_the_call():
    resolution = "住民票のある市区町村の窓口で初期化・再設定が必要と案内。お客様了承。折り返し不要。解決。"
    d = drafts.build([("s", PII_MAIL)], resolutions=[resolution])
    assert d.answer == "住民票のある市区町村の窓口で初期化・再設定が必要です。"  # (said to the citizen)
    # a resolution that is only about the call gives no answer: the next one is taken
    d = drafts.build([("s", PII_MAIL)], resolutions=["解決。折り返し不要。", "認証局で証明書を更新してください。"])
    assert d.answer == "認証局で証明書を更新してください。"
    # lines stay lines
    d = drafts.build([("s", PII_MAIL)], resolutions=["手順:\n1. 証明書を更新。\n2. 署名し直す。\n了承。"])
    assert d.answer == "手順:\n1. 証明書を更新。\n2. 署名し直す。"
    assert (
        drafts.resolution_text("Chromeで開くよう案内? はい。 解決。") == "Chromeで開くよう案内? はい。"
    )  # the rest as written


def test_the_phone_notes_advice_is_the_one_about_the_question_that_the_others_share():
    notes = [
        ("a", "ログインできないとのこと。パスワード再設定の手順を案内。"),  # most central
        ("b", "確認コードのメールが届かないとのこと。迷惑メールフォルダを確認するよう案内。"),
        ("c", "確認コードが届かないとの入電。迷惑メールフォルダと受信設定を確認するよう案内。"),
        ("d", "コードのメールが来ないとのこと。受信設定を確認するよう案内。解決。"),
    ]
    question = ("e", "確認コードのメールが届きません。どうすればよいでしょうか。")
    d = drafts.build([question, *notes])
    assert d.question == "確認コードのメールが届きません。どうすればよいでしょうか。"
    # the note most about the question, whose advice the others share; not the most central note's
    assert d.answer == "迷惑メールフォルダをご確認ください。"
    # without a question to go by, the advice most notes share
    assert drafts.agreed_guidance([n for _s, n in notes]) == "迷惑メールフォルダと受信設定をご確認ください。"
    assert drafts.agreed_guidance([notes[0][1]]) == "パスワード再設定の手順をご確認ください。"
    assert drafts.agreed_guidance(["画面が白いとのこと。上長へエスカレーション。"]) == ""


def test_the_phone_notes_advice_is_scrubbed_like_any_answer():
    note = "鈴木様（090-1234-5678）より証明書の期限切れとのこと。鈴木様には認証局へ問い合わせるよう案内。"
    d = drafts.build([("証明書期限切れ", note)])
    assert "鈴木" not in d.answer and "090" not in d.answer
    assert d.answer.endswith("認証局へお問い合わせください。")
    assert d.pii_removed.get("person_name", 0) >= 1 and privacy.find(d.answer) == []
