from django.urls import path

from ringtrail.carriers.telnyx import views as telnyx
from ringtrail.carriers.twilio import views as twilio

app_name = "carriers"

# SignalWire speaks the Twilio dialect; both prefixes reach the same views.
urlpatterns = [
    path(f"{prefix}/{name}", view, name=f"{prefix}-{name}")
    for prefix in ("twilio", "signalwire")
    for name, view in twilio.views.routes()
]
# Telnyx TeXML: same endpoints, Ed25519-signed.
urlpatterns += [path(f"telnyx/{name}", view, name=f"telnyx-{name}") for name, view in telnyx.views.routes()]
