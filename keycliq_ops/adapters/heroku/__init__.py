"""Adapter for the Heroku Platform API.

- :mod:`.client`: :class:`.client.HerokuClient`, one method per API call.
- :mod:`.transport`: retries, pacing, pagination, streams.
- :mod:`.auth`: where the token and API URL come from.
- :mod:`.error_map`: Heroku's error bodies as :class:`keycliq_ops.base.errors.HerokuError`.
- :mod:`.resources`: the pydantic models the client returns.

(The vendored API schema the contract tests and the stand-in check against lives in
:mod:`keycliq_ops.standin.apischema`.) Nothing is imported here.
"""
