"""Small helpers shared by the plugin: settings, translations, logging."""
