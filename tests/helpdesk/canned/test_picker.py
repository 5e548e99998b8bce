"""The reply box's canned-response picker: buttons for the active ones, text rendered for the
inquiry, one query however many there are."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from helpdesk.models import CannedResponse
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db


def render(inquiry, user) -> str:
    request = RequestFactory().get("/desk/")
    request.user = user
    return render_to_string("desk/canned/_picker.html", {"inquiry": inquiry}, request=request)


def canned(n: int, **kw) -> None:
    for i in range(n):
        CannedResponse.objects.create(title=f"定型{i}", body=f"{{citizen_name}} 様 ({i}) {{inquiry_ref}}", **kw)


@pytest.mark.parametrize("count", [1, 12])
def test_one_query_however_many(agent, django_assert_num_queries, count):
    inquiry = InquiryFactory()
    canned(count)
    with django_assert_num_queries(1):
        html = render(inquiry, agent)
    assert html.count('class="canned-insert"') == count


def test_buttons_carry_the_text_rendered_for_the_inquiry(agent):
    inquiry = InquiryFactory(requester_name="佐藤 <花子>", category="send_error")
    CannedResponse.objects.create(title="一般", body="{citizen_name} 様\n{inquiry_ref}", order=0)
    CannedResponse.objects.create(title="送信エラー", body="再送信を", category="send_error", order=9)
    CannedResponse.objects.create(title="廃止", body="古い文面", active=False)
    CannedResponse.objects.create(title="未定義あり", body="{deadline} まで", order=5)

    html = render(inquiry, agent)

    assert "廃止" not in html
    assert f'data-canned-text="佐藤 &lt;花子&gt; 様\n{inquiry.ref}"' in html  # escaped, newline kept
    assert html.index("送信エラー") < html.index("一般")  # the inquiry's category first
    assert "未定義の変数: &#123;deadline&#125;" in html
    assert "/static/desk/canned.js" in html and "<script>" not in html  # no inline script (CSP)


def test_no_canned_responses_says_so(agent):
    assert "定型文はありません" in render(InquiryFactory(), agent)
