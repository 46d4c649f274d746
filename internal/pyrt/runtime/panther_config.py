"""Configuration object content reads as panther_config.config.NAME.

Values come from panther_config_overrides (a repository global), then
panther_config_defaults, else None.
"""

import importlib


class _Config:
    def __getattr__(self, name):
        for module_name in ("panther_config_overrides", "panther_config_defaults"):
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            if hasattr(module, name):
                return getattr(module, name)
        return None


config = _Config()
