from django.apps import AppConfig


class CarriersConfig(AppConfig):
    name = "ringtrail.carriers"
    label = "carriers"
