"""Release pipelines (deploy, promote, rollback) built on a small step engine."""
