"""A help desk's day compressed: agents working their queues and a few supervisors on the KPI
page, against a running server. Started by bench/bench_load.py, which prepares the users and
their tokens; alone:

    BENCH_LOAD_USERS=/tmp/users.json locust -f bench/locustfile.py --headless -u 100 -r 20 \
        --run-time 5m --host http://127.0.0.1:8000

BENCH_LOAD_USERS is the JSON bench_load.py writes: {"agents": [{"id", "token"}],
"supervisors": [...], "refs": [...], "kpi_month": "YYYY-MM"}. BENCH_LOAD_SUPERVISORS is how
many of the users are supervisors (default 5); BENCH_LOAD_WAIT is each user's think time
between two requests, "min,max" seconds (default "1,3").

Every request is named by its kind, not its URL, so the figures group per endpoint. A
response other than the one expected (e.g. 412 on a PATCH, 429, any 5xx) is a failure.

BENCH_LOAD_CLIENT picks the HTTP client: "fast" (default) is locust's FastHttpUser
(geventhttpclient), "requests" its HttpUser (python-requests). The client is not the product:
on a 2-core machine it shares the cores with the server it measures, so the cheaper client
leaves more of them to gunicorn and PostgreSQL (bench/README.md "locust's own CPU").
"""

import itertools
import json
import os
import random
import uuid
from urllib.parse import urlencode

from locust import FastHttpUser, HttpUser, between, task

with open(os.environ["BENCH_LOAD_USERS"], encoding="utf-8") as fh:
    DATA = json.load(fh)
WAIT = tuple(float(x) for x in os.environ.get("BENCH_LOAD_WAIT", "1,3").split(","))
_agents = itertools.cycle(DATA["agents"])  # gevent: one process, no race on next()
_supervisors = itertools.cycle(DATA["supervisors"])
CLIENT = os.environ.get("BENCH_LOAD_CLIENT", "fast")
if CLIENT not in ("fast", "requests"):
    raise SystemExit(f"BENCH_LOAD_CLIENT={CLIENT!r}: fast or requests")
BaseUser = FastHttpUser if CLIENT == "fast" else HttpUser
OPEN = [("status", "in_progress"), ("status", "escalated")]
CATEGORIES = ["send_error", "mynumber_card", "gbizid", "kobunsho", "login", "mac_mobile", "install", "other"]
SUBJECTS = [
    "電子証明書の有効期限が切れていると表示される",
    "マイナンバーカードで署名できない",
    "gBizIDでログインできない",
    "公文書のダウンロード方法",
    "申請データの送信エラー",
]


class Staff(BaseUser):
    abstract = True
    wait_time = between(*WAIT)
    pool = _agents

    def on_start(self) -> None:
        me = next(self.pool)
        self.user_id = me["id"]
        # Per request, not on the session: both clients take `headers=`, only requests' session
        # has a mutable `.headers`.
        self.headers = {"Authorization": f"Token {me['token']}", "Accept": "application/json"}
        self.seen: list[str] = []

    def request(self, method: str, path: str, *, name: str, headers: dict | None = None, **kwargs):
        """One request with the user's token, as a catch_response context manager."""
        return self.client.request(
            method, path, name=name, headers={**self.headers, **(headers or {})}, catch_response=True, **kwargs
        )

    def list(self, name: str, params: list[tuple[str, str]] | dict) -> list[dict]:
        # The query string built here: repeated keys (status=a&status=b) the same way for both clients.
        query = urlencode(params, doseq=True)
        with self.request("GET", f"/api/inquiries/?{query}", name=name) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return []
            results = r.json().get("results", [])
        self.seen = [row["ref"] for row in results[:20]] or self.seen
        return results

    def a_ref(self) -> str:
        return random.choice(self.seen) if self.seen and random.random() < 0.7 else random.choice(DATA["refs"])

    def detail(self, ref: str) -> dict | None:
        with self.request("GET", f"/api/inquiries/{ref}/", name="inquiry detail") as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            return {"etag": r.headers.get("ETag", ""), **r.json()}


class Agent(Staff):
    weight = 1

    @task(30)
    def my_open_queue(self) -> None:
        self.list("list: my open queue", [("assigned_to", str(self.user_id)), *OPEN, ("page_size", "50")])

    @task(10)
    def filtered_status_channel(self) -> None:
        params = {"status": random.choice(["in_progress", "escalated", "answered"]), "channel": "email"}
        self.list("list: status+channel", {**params, "page_size": 50})

    @task(6)
    def filtered_category_unassigned(self) -> None:
        self.list("list: category+unassigned", {"category": random.choice(CATEGORIES), "unassigned": "true"})

    @task(4)
    def filtered_week(self) -> None:
        day = random.randint(1, 20)
        params = {"received_after": f"2026-10-{day:02d}", "received_before": f"2026-10-{day + 7:02d}"}
        self.list("list: received 7 days", {**params, "page_size": 50})

    @task(10)
    def search(self) -> None:
        self.list("list: q=電子証明書", {"q": "電子証明書", "page_size": 50})

    @task(25)
    def inquiry_detail(self) -> None:
        self.detail(self.a_ref())

    @task(8)
    def create_phone_inquiry(self) -> None:
        body = {
            "channel": "phone",
            "subject": random.choice(SUBJECTS),
            "body": "お客様より電話。手順を案内し、解決を確認した。",
            "category": random.choice(CATEGORIES),
            "requester_name": "負荷 試験",
            "requester_phone": "0312345678",
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.request("POST", "/api/inquiries/", json=body, headers=headers, name="create phone inquiry") as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            else:
                self.seen.insert(0, r.json()["ref"])

    @task(5)
    def patch_with_if_match(self) -> None:
        mine = [row["ref"] for row in self.list("list: my open queue", [("assigned_to", str(self.user_id)), *OPEN])]
        found = self.detail(random.choice(mine) if mine else self.a_ref())
        if not found:
            return
        change = {"resolution": f"対応メモ {uuid.uuid4().hex[:8]}", "category": random.choice(CATEGORIES)}
        with self.request(
            "PATCH",
            f"/api/inquiries/{found['ref']}/",
            json=change,
            headers={"If-Match": found["etag"]},
            name="PATCH inquiry (If-Match)",
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")

    @task(2)
    def reply_to_email(self) -> None:
        rows = self.list(
            "list: my email inquiries",
            [("assigned_to", str(self.user_id)), ("channel", "email"), *OPEN, ("status", "answered")],
        )
        if not rows:
            return
        ref = random.choice(rows)["ref"]
        body = {"body": "お問い合わせありがとうございます。\n手順をご案内します。\n"}
        with self.request("POST", f"/api/inquiries/{ref}/reply/", json=body, name="reply (email)") as r:
            if r.status_code not in (201, 202):
                r.failure(f"{r.status_code}: {r.text[:200]}")


class Supervisor(Staff):
    fixed_count = int(os.environ.get("BENCH_LOAD_SUPERVISORS", "5"))
    pool = _supervisors

    @task(3)
    def kpi_month(self) -> None:
        with self.request("GET", f"/api/kpi/months/{DATA['kpi_month']}/", name="KPI month (supervisor)") as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")

    @task(3)
    def escalated(self) -> None:
        self.list("list: escalated (supervisor)", {"status": "escalated", "page_size": 50})

    @task(2)
    def inquiry_detail(self) -> None:
        self.detail(self.a_ref())
