"""WSGI entry point for Granian or Gunicorn: Django's application, with the machine endpoints'
fronts before it (``ringtrail/fronts.py``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringtrail.settings")
django_application = get_wsgi_application()

from ringtrail.fronts import around  # noqa: E402 - needs the apps that get_wsgi_application set up

application = around(django_application)

# Everything loaded so far (Django, the apps, their modules: ~120 000 objects) lives as long as the
# process. Left to the collector, each full collection walked them all and paused every request of
# the worker for 120-190 ms (docs/benchmarks.md); frozen, a full collection takes a few ms.
gc.freeze()
