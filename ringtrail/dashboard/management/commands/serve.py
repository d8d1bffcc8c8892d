"""`ringtrail serve`: the production server (Granian, WSGI), never Django's runserver."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Ringtrail with Granian (defaults from HOST, PORT and WEB_WORKERS)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
        parser.add_argument(
            "--workers-kill-timeout",
            type=int,
            default=int(os.environ.get("WEB_WORKERS_KILL_TIMEOUT", "20")),
            help="seconds a worker has to stop before it is killed (0: wait for ever)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings
        from django.db import connections
        from granian import Granian
        from granian.constants import Interfaces

        from ringtrail.lib.sqlite_writes import stop_checkpointers
        from ringtrail.visits import recorder

        # The workers are forked from this process: no thread of it may be inside SQLite then,
        # and no connection of it may be shared with them.
        stop_checkpointers()
        connections.close_all()
        # Before the workers start: they learn where to ship their page views from the environment.
        writes_behind = settings.DNI_RECORDER and settings.DNI_RECORD_FLUSH_SECONDS > 0
        recording = recorder.start_process(recorder.default_socket_path()) if writes_behind else None
        self.stdout.write(f"Ringtrail serving on http://{options['host']}:{options['port']}")
        try:
            Granian(
                "ringtrail.wsgi:application",
                address=options["host"],
                port=options["port"],
                interface=Interfaces.WSGI,
                workers=options["workers"],
                blocking_threads=options["threads"],
                respawn_failed_workers=True,
                # Ctrl-C reaches the workers besides Granian's own stop signal; now and then a worker
                # then stopped serving but never exited, and the server waited for it for ever (seen
                # in 4 of 7 stops of `make demo`, old and new code alike). Killed, it loses what it
                # had not shipped yet: at most one flush interval of page views.
                workers_kill_timeout=options["workers_kill_timeout"] or None,
            ).serve()
        finally:
            recorder.stop_process(recording)  # after the workers, which ship what they hold as they exit
