"""Interfaces: the ``cxray`` command line, a thin shell over :class:`cxray.Workspace`."""

from cxray.cli._app import app, main

__all__ = ["app", "main"]
