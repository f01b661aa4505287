"""The operations console: a static web app (plain ES modules) and what serves it at `/`."""
