"""`ringtrail worker`: runs background tasks and replays webhooks spooled while the database was down."""

from __future__ import annotations

import threading
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from ringtrail.calls import spool


def _replay_forever(interval: float) -> None:
    while True:
        try:
            spool.replay()
        except Exception:  # keep the loop alive; the next pass retries
            time.sleep(interval)
        time.sleep(interval)


class Command(BaseCommand):
    help = "Run the task worker (django-tasks database backend) and the spool replayer."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--spool-interval", type=float, default=5.0)
        parser.add_argument("--once", action="store_true", help="replay the spool once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(f"replayed {spool.replay()} spooled requests")
            return
        threading.Thread(target=_replay_forever, args=(options["spool_interval"],), daemon=True).start()
        call_command("db_worker")
