"""Ringtrail: self-hostable call tracking and conversation intelligence."""

__version__ = "0.1.0"
