"""The Processing provider: one algorithm per task, usable from the toolbox, Model Builder, batch mode,
``processing.run`` and ``qgis_process``."""
