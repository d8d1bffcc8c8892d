"""WSGI entry point for Granian or Gunicorn: Django's application, with the machine endpoints'
fronts before it (``ringtrail/fronts.py``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringtrail.settings")
django_application = get_wsgi_application()

from ringtrail.fronts import around  # noqa: E402 - needs the apps that get_wsgi_application set up

application = around(django_application)
