"""What the server runs around Django's WSGI handler (``ringtrail/wsgi.py``).

Machine endpoints are served before Django's handler: the DNI session and heartbeat by ``DniEdge``
(``dni/edge.py``), the other public paths by ``MachineLane`` (``lib/machine_lane.py``), which calls
their Django views without the handler's middleware chain and signals. Everything else, and anything
either would treat differently, is Django's. Tests wrap a handler the same way (``testing_wsgi.py``).
"""

from __future__ import annotations

from ringtrail.dni.edge import DniEdge
from ringtrail.lib.machine_lane import MachineLane, WsgiApp


def around(django: WsgiApp) -> WsgiApp:
    return DniEdge(MachineLane(django))
