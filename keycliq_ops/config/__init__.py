"""Project configuration (``keycliq.yaml``)."""

from keycliq_ops.config.loading import CONFIG_NAME, LoadedConfig, find_config, load_config
from keycliq_ops.config.settings import Config, Environment

__all__ = ["CONFIG_NAME", "Config", "Environment", "LoadedConfig", "find_config", "load_config"]
