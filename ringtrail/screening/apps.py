from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "ringtrail.screening"
    label = "screening"

    def ready(self) -> None:
        from ringtrail.screening import signals  # noqa: F401 - invalidates the per-process rule cache
