from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ringtrail.accounts"
    label = "accounts"
