from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "ringtrail.flows"
    label = "flows"
