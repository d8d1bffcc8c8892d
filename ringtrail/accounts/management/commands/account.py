"""`ringtrail account create NAME --owner EMAIL [--password P]`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ringtrail.accounts.actions import create_account_with_owner


class Command(BaseCommand):
    help = "Manage accounts."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an account and its owner; prints the slug")
        create.add_argument("name")
        create.add_argument("--owner", required=True, help="owner's email (created if new)")
        create.add_argument("--password", help="password for a new owner (else one is generated and printed)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = create_account_with_owner(options["name"], options["owner"], options.get("password"))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if result.generated_password:
            self.stderr.write(f"owner {options['owner']} created with password: {result.generated_password}")
        self.stdout.write(result.account.slug)
