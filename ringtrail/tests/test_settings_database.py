"""PostgreSQL connections prepare hot statements unless told not to (``DB_PREPARE_THRESHOLD``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

READ = "from ringtrail import settings; print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])"


def prepare_threshold(**env: str) -> str:
    inherited = {name: value for name, value in os.environ.items() if name != "DB_PREPARE_THRESHOLD"}
    environ = {**inherited, "DATABASE_URL": "postgres://ringtrail@127.0.0.1:5432/ringtrail", **env}
    done = subprocess.run([sys.executable, "-c", READ], env=environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("given", "expected"), [(None, "5"), ("0", "0"), ("none", "None"), ("None", "None"), ("", "None")]
)
def test_prepared_statements_are_on_by_default_and_can_be_turned_off(
    given: str | None, expected: str
) -> None:
    env = {} if given is None else {"DB_PREPARE_THRESHOLD": given}
    assert prepare_threshold(**env) == expected
