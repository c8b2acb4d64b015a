"""Work without widgets. Modules that do not import qgis (``sse``, ``client``, ``local_server``, ``service``,
``follow``) stay importable in plain Python so they can be tested without QGIS."""
