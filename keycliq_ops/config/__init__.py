"""Project configuration (``keycliq.yaml``)."""

from keycliq_ops.config.loader import CONFIG_NAME, LoadedConfig, find_config, load_config
from keycliq_ops.config.models import Config, Environment

__all__ = ["CONFIG_NAME", "Config", "Environment", "LoadedConfig", "find_config", "load_config"]
