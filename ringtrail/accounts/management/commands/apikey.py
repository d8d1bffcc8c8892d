"""`ringtrail apikey create ACCOUNT --name NAME [--role ROLE]`: prints the key once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ringtrail.accounts.actions import create_api_key
from ringtrail.accounts.models import Account, Role


class Command(BaseCommand):
    help = "Manage API keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key; it is printed once and stored hashed")
        create.add_argument("account", help="account slug")
        create.add_argument("--name", required=True)
        create.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"no account with slug {options['account']!r}")
        _, raw_key = create_api_key(account, options["name"], options["role"], None)
        self.stdout.write(raw_key)
