from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "ringtrail.calls"
    label = "calls"
