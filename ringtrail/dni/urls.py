from django.urls import path

from ringtrail.dni import views

app_name = "dni"

urlpatterns = [
    path("t/<str:public_key>.js", views.tracking_script, name="script"),
    path("dni/v1/<str:public_key>/session", views.session, name="session"),
    path("dni/v1/<str:public_key>/touch", views.touch, name="touch"),
    path("dni/v1/<str:public_key>/amp", views.amp, name="amp"),
]
