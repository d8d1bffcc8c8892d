from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ringtrail.dashboard"
    label = "dashboard"
