"""``keycliq demo``: the real commands, run on the local Heroku stand-in, with checks.

- :mod:`.scenarios`: what each scenario runs (``release``, ``bad-migration``,
  ``integrity-defect``, ``flaky-api``) and what each step must do.
- :mod:`.standin`: the stand-in is ``keycliq sandbox``'s daemon (no second simulator).
- :mod:`.stream`: one command as a child process, its output passed on as it comes.
- :mod:`.runner`: :func:`run_demo` ties them together and returns a :class:`DemoResult`.
"""

from keycliq_ops.standin.demo.scenarios import SCENARIO_NAMES
from keycliq_ops.standin.demo.scripted import DemoResult, StepResult, run_demo, scenario_named

__all__ = ["SCENARIO_NAMES", "DemoResult", "StepResult", "run_demo", "scenario_named"]
