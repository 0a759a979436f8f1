"""The commented starter ``keycliq.yaml`` that ``keycliq init`` writes."""

from __future__ import annotations

STARTER = """\
# keycliq.yaml: how keycliq deploys this KeyCliq checkout.
# Reference: docs/configuration.md (or `keycliq config reference`).
version: 1

# The Heroku pipeline holding both apps.
pipeline: {pipeline}

environments:
  staging:
    app: {staging_app}           # Heroku app name
    remote: heroku-staging       # `git push heroku-staging <branch>:main` deploys
    url: https://{staging_app}.herokuapp.com
    stage: staging
    checklist: staging           # shipped checklist; see `keycliq checklist list`
    dataclips: [E1, E2, E3, F, G]  # the gate after every staging deploy
  production:
    app: {production_app}
    url: https://{production_app}.herokuapp.com
    stage: production            # reached only by `keycliq promote`
    checklist: production
    dataclips: [A, C]

# Branches allowed to deploy (glob patterns).
branches: [main, "release/*"]

# The remote the team shares: preflight warns when the commit is not on it.
shared_remote: origin

tests:
  command: npm test              # null to skip
  timeout: 1800

migrations:
  strategy: release-phase        # release-phase | one-off | none
  command: npx prisma migrate deploy

paths:
  ledger: .keycliq/ledger.jsonl  # commit this file: it is the deploy record
  reports: .keycliq/reports
"""


def render_starter(
    pipeline: str = "keycliq",
    staging_app: str = "keycliq-staging",
    production_app: str = "keycliq-production",
) -> str:
    return STARTER.format(pipeline=pipeline, staging_app=staging_app, production_app=production_app)
