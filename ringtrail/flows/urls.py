from django.urls import path

from ringtrail.flows import views

app_name = "flows"

urlpatterns = [
    path("flows/", views.flow_list, name="list"),
    path("flows/new/", views.flow_new, name="new"),
    path("flows/<int:pk>/", views.flow_edit, name="edit"),
    path("flows/<int:pk>/versions/<int:number>/", views.version_detail, name="version"),
    path("flows/<int:pk>/delete/", views.flow_delete, name="delete"),
    path("flows/<int:pk>/attach/<str:kind>/", views.attach, name="attach"),
    path("flows/<int:pk>/report/", views.flow_report, name="report"),
]
