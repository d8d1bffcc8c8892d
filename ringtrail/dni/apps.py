from django.apps import AppConfig


class DniConfig(AppConfig):
    name = "ringtrail.dni"
    label = "dni"
