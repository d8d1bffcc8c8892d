"""Background tasks (django-tasks): placing a call-back's first leg off the web request."""

from __future__ import annotations

from django_tasks import task

from ringtrail.callbacks import actions


@task()
def place_callback(request_id: int) -> None:
    actions.place(request_id)
