"""`ringtrail recorder`: the process that writes the web workers' page views (``visits/recorder.py``).

``ringtrail serve`` starts it; run by hand it serves the socket given until interrupted.
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ringtrail.visits import recorder
from ringtrail.visits.buffer import buffer


class Command(BaseCommand):
    help = "Write the page views that the web workers ship to SOCKET, until interrupted."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--socket", default=str(recorder.default_socket_path()))
        parser.add_argument("--parent", type=int, default=None, help="stop when this process is gone")

    def handle(self, *args: Any, **options: Any) -> None:
        os.environ.pop(recorder.SOCKET_ENV, None)  # this process writes; it ships to nobody
        recorder.run(options["socket"], buffer, settings.DNI_RECORDER_NICE, options["parent"])
