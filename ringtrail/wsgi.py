"""WSGI entry point for Granian or Gunicorn.

The DNI session and heartbeat paths are answered by ``DniEdge`` before Django's handler (see
ringtrail/dni/edge.py); everything else is Django's.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringtrail.settings")
django_application = get_wsgi_application()

from ringtrail.dni.edge import DniEdge  # noqa: E402 - needs the apps that get_wsgi_application set up

application = DniEdge(django_application)
