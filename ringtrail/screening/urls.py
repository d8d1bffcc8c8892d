from django.urls import path

from ringtrail.screening import views

app_name = "screening"

urlpatterns = [
    path("spam/", views.spam_list, name="spam"),
    path("spam/calls/<int:pk>/mark/", views.mark, name="mark"),
    path("spam/calls/<int:pk>/unmark/", views.unmark, name="unmark"),
]
