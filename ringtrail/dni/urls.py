from django.urls import path

from ringtrail.callbacks import views as callbacks
from ringtrail.dni import pages, views

urlpatterns = [
    path("settings/tracking-code/", pages.tracking_code, name="tracking-code"),
    path("pools/<int:pk>/", pages.pool_detail, name="pool"),
    path("t/<str:public_key>.js", views.tracking_script, name="dni-script"),
    path("dni/v1/<str:public_key>/session", views.session, name="dni-session"),
    path("dni/v1/<str:public_key>/touch", views.touch, name="dni-touch"),
    path("dni/v1/<str:public_key>/amp", views.amp, name="dni-amp"),
    path("dni/v1/<str:public_key>/callback", callbacks.request_callback, name="dni-callback"),
]
