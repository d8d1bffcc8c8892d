from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "ringtrail.sources"
    label = "sources"
