"""Checklists: the staging and production runbooks as YAML, walked item by item.

Public API (the deploy and promote pipelines call it)::

    from keycliq_ops.checklists import (
        ChecklistContext, load_checklist, find_checklist, run_checklist, plan_checklist,
        AnswersPrompter, ScriptedPrompter, Answer, StateStore, state_path,
    )
    checklist = load_checklist(find_checklist(loaded.checklists_dir, "staging"))
    ctx = ChecklistContext(env="staging", app="keycliq-staging", app_url=url, commit=sha,
                           prompter=AnswersPrompter(path), dataclip_runner=EngineRunner(...),
                           database_url=lambda: url)
    result = run_checklist(checklist, ctx)        # ChecklistResult; never raises on a gate
    ledger_record["checklist"] = result.model_dump(mode="json")
    result.raise_for_verdict()                    # GateFailed (1) / Interrupted (130)
"""

from keycliq_ops.checklists.answers import (
    AnswersFile,
    AnswersPrompter,
    render_answers,
    render_template,
)
from keycliq_ops.checklists.checks import DataclipOutcome, DataclipRunner, DynoOutput, DynoRunner
from keycliq_ops.checklists.dataclip_runner import EngineRunner
from keycliq_ops.checklists.files import (
    ChecklistCatalog,
    ChecklistInfo,
    find_checklist,
    list_checklists,
    load_checklist,
    parse_checklist,
)
from keycliq_ops.checklists.items import Checklist, is_manual
from keycliq_ops.checklists.prompting import Answer, Prompter, Question, ScriptedPrompter
from keycliq_ops.checklists.results import (
    ChecklistPlan,
    ChecklistResult,
    CheckSummary,
    ItemResult,
    PlannedItem,
)
from keycliq_ops.checklists.state import StateStore, state_path
from keycliq_ops.checklists.walker import (
    ChecklistContext,
    ChecklistEvent,
    check_checklist,
    plan_checklist,
    run_checklist,
)

__all__ = [
    "Answer",
    "AnswersFile",
    "AnswersPrompter",
    "CheckSummary",
    "Checklist",
    "ChecklistCatalog",
    "ChecklistContext",
    "ChecklistEvent",
    "ChecklistInfo",
    "ChecklistPlan",
    "ChecklistResult",
    "DataclipOutcome",
    "DataclipRunner",
    "DynoOutput",
    "DynoRunner",
    "EngineRunner",
    "ItemResult",
    "PlannedItem",
    "Prompter",
    "Question",
    "ScriptedPrompter",
    "StateStore",
    "check_checklist",
    "find_checklist",
    "is_manual",
    "list_checklists",
    "load_checklist",
    "parse_checklist",
    "plan_checklist",
    "render_answers",
    "render_template",
    "run_checklist",
    "state_path",
]
