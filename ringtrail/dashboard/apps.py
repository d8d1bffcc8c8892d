from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ringtrail.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from ringtrail.lib import sqlite_writes

        connection_created.connect(sqlite_writes.configure_connection, dispatch_uid="sqlite-checkpoints")
