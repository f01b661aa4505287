"""deconflict: open, multi-party airspace deconfliction service."""

__version__ = "0.1.0"
