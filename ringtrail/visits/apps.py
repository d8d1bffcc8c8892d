from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "ringtrail.visits"
    label = "visits"
