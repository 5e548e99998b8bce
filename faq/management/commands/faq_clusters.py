"""python manage.py faq_clusters --from-jsonl FILE --json

Runs the FAQ pipeline (text → clusters → surges) over a JSON Lines file shaped like the dev set
(`id`, `channel`, `subject`, `body`, `received_at`; other fields ignored) without touching the
database, and prints {"clusters": [...], "unclustered": [...], "surges": [...]}.
Without --from-jsonl it runs the periodic job on the database (same as the Celery task).
Exit codes: docs/commands.md (0 ok, 1 the file is missing, unreadable, empty or has a bad line)."""

import json
import sys
from typing import Any

from django.core.management.base import CommandParser

from faq import pipeline
from helpdesk.management.base import Failed, HelpdeskCommand, describe_os_error


class Command(HelpdeskCommand):
    help = "Cluster inquiries and detect surges (offline over a JSONL file, or the database job)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-jsonl", metavar="FILE", help="read records from FILE ('-' for stdin); no database")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument("--no-embeddings", action="store_true", help="TF-IDF only (skip the sentence encoder)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["from_jsonl"]
        if not path:
            from faq.services import faq_cluster_run

            run = faq_cluster_run()
            out = {"run": run.pk, "method": run.method, "clusters": run.clusters, "surges": run.surges}
            self.stdout.write(json.dumps(out, ensure_ascii=False) if options["json"] else str(out))
            return
        try:
            if path == "-":
                docs = pipeline.read_jsonl(sys.stdin)
            else:
                with open(path, encoding="utf-8-sig") as fh:
                    docs = pipeline.read_jsonl(fh)
        except IsADirectoryError:
            raise Failed(f"{path} is a directory: give a .jsonl file") from None
        except OSError as exc:
            raise Failed(describe_os_error(exc)) from None
        except UnicodeDecodeError as exc:
            raise Failed(f"{path}: not UTF-8 text ({exc.reason})") from None
        except ValueError as exc:
            raise Failed(f"{path}: {exc}") from None
        if not docs:
            raise Failed(f"{path}: no inquiries in the file (one JSON object per line)")
        result = pipeline.run(docs, embed=not options["no_embeddings"])
        data = result.as_json()
        if result.clustering.fallback_reason:
            self.stderr.write(f"warning: TF-IDF only ({result.clustering.fallback_reason})")
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(
            f"{len(docs)} inquiries, {len(data['clusters'])} clusters, {len(data['unclustered'])} unclustered, "
            f"method {data['method']}"
        )
        for c in data["clusters"]:
            self.stdout.write(f"  #{c['id']:>3} {c['size']:>5}  {' '.join(c['keywords'][:6])}")
        for s in data["surges"]:
            self.stdout.write(f"  surge: {s['explanation']}")
