"""Utilities shared by every model: image conversion, atomic checkpoints, HTML pages and visualisation."""
