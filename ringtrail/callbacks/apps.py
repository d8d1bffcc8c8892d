from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "ringtrail.callbacks"
    label = "callbacks"
