from django.apps import AppConfig


class DniConfig(AppConfig):
    name = "ringtrail.dni"
    label = "dni"

    def ready(self) -> None:
        from ringtrail.dni import signals  # noqa: F401 - connects the routing-snapshot refresh
