"""Widgets: the dock panel, the options page, the layer context-menu actions."""
