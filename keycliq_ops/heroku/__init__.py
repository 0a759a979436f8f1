"""Adapter for the Heroku Platform API.

- :mod:`.client`: :class:`~keycliq_ops.heroku.client.HerokuClient`, one method per API call.
- :mod:`.transport`: retries, pacing, pagination, streams.
- :mod:`.auth`: where the token and API URL come from.
- :mod:`.errors`: Heroku's error bodies as :class:`keycliq_ops.errors.HerokuError`.
- :mod:`.models`: the pydantic models the client returns.
- :mod:`.schema`: the vendored API schema; link matching and validation (contract tests,
  the local stand-in).

Nothing is imported here, so ``import keycliq_ops.heroku.schema`` stays light.
"""
