"""The scheduled health report and the cost estimates (``keycliq report``, ``keycliq costs``).

:func:`~keycliq_ops.ops.health.report.build_report` runs an environment's report set of
Dataclips, records their numbers in the history and gathers the trends, the release
markers from the ledger, the matchType balance per day, the keys without a signature, the
costs and the threshold breaches into a :class:`~keycliq_ops.ops.health.model.HealthReport`;
:func:`~keycliq_ops.ops.health.html.render_html` turns it into one self-contained page
(inline SVG, no script, no external asset). :mod:`.costs` computes the OpenAI estimate and
reads Cloudinary's usage. Nothing here prints.
"""
