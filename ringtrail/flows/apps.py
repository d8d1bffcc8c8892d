from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "ringtrail.flows"
    label = "flows"

    def ready(self) -> None:
        from ringtrail.flows import signals  # noqa: F401 - connects the routing-snapshot refresh
