"""The Twilio dialect (also spoken by SignalWire's LaML)."""
