"""keycliq: the release tool for the KeyCliq web app on Heroku.

The package is usable as a library without the CLI: the core modules return structured
results and raise :class:`keycliq_ops.base.errors.KeycliqError` subclasses; only
``keycliq_ops.cli`` prints.
"""

__version__ = "0.1.0"
