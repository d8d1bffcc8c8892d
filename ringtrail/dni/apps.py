from django.apps import AppConfig


class DniConfig(AppConfig):
    name = "ringtrail.dni"
    label = "dni"

    def ready(self) -> None:
        from ringtrail.dni import config, signals  # noqa: F401 - connect the cache refreshes
