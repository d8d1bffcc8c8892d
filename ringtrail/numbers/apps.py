from django.apps import AppConfig


class NumbersConfig(AppConfig):
    name = "ringtrail.numbers"
    label = "numbers"

    def ready(self) -> None:
        from ringtrail.numbers import signals  # noqa: F401 - connects the routing-cache refresh
