"""Call flows: how a call is routed. The engine is plain Python (no Django, no HTTP)."""
