from django.urls import path

from ringtrail.calls import views

app_name = "calls"

urlpatterns = [
    path("calls/", views.call_log, name="log"),
    path("calls/<int:pk>/", views.call_detail, name="detail"),
]
