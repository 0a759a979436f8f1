"""Finding and loading ``keycliq.yaml``; resolving the paths it names."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.config.settings import Config, Environment

if TYPE_CHECKING:
    from keycliq_ops.base.yamlfile import YamlDoc
    from keycliq_ops.checklists.files import ChecklistCatalog
    from keycliq_ops.dataclips.clips import Catalog

CONFIG_NAME = "keycliq.yaml"


def _shipped_catalog() -> Path:
    """The shipped checklists and Dataclips: the repository's top-level ``checklists/`` and
    ``dataclips/`` folders, mapped to ``keycliq_ops/_catalog/`` in the wheel (one copy)."""
    package = Path(__file__).resolve().parent.parent
    built = package / "_catalog"
    return built if built.is_dir() else package.parent


CATALOG = _shipped_catalog()
SHIPPED_DATACLIPS = CATALOG / "dataclips"
SHIPPED_CHECKLISTS = CATALOG / "checklists"

LayerSource = Literal["shipped", "repo"]


@dataclass(frozen=True)
class Layer:
    """One folder of a catalogue: the shipped one, or the repository's own."""

    source: LayerSource
    folder: Path
    explicit: bool = False  # named by keycliq.yaml (then it must exist)


@dataclass(frozen=True)
class CatalogFolders:
    """The folders of one catalogue (checklists or Dataclips), lowest layer first: the
    shipped folder, then the repository's (``checklists/`` / ``dataclips/`` beside
    keycliq.yaml, or ``paths.checklists`` / ``paths.dataclips``). An entry of a higher
    layer replaces the entry of the same id (a Dataclip) or name (a checklist) below it.

    ``folders / "staging.yaml"`` is that file in the highest layer that has it (else in the
    highest layer), so code written for one folder keeps working; ``str()`` lists the
    folders highest first, separated like ``$PATH``."""

    kind: Literal["checklists", "dataclips"]
    layers: tuple[Layer, ...]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @property
    def folders(self) -> tuple[Path, ...]:
        """The folders, highest layer first."""
        return tuple(layer.folder for layer in reversed(self.layers))

    @property
    def top(self) -> Path:
        return self.layers[-1].folder

    def layer(self, source: LayerSource) -> Layer | None:
        return next((layer for layer in self.layers if layer.source == source), None)

    def __truediv__(self, name: str) -> Path:
        for folder in self.folders:
            if (folder / name).exists():
                return folder / name
        return self.top / name

    def __str__(self) -> str:
        return os.pathsep.join(str(f) for f in self.folders)

    def describe(self) -> str:
        """``shipped (…/dataclips) + repo (…/dataclips)``: the folders that exist, for
        titles and hints."""
        present = [layer for layer in self.layers if layer.folder.is_dir()] or self.layers
        return " + ".join(f"{layer.source} ({layer.folder})" for layer in present)


def layered(
    kind: Literal["checklists", "dataclips"],
    repo: Path | None = None,
    *,
    explicit: bool = False,
    shipped: bool = True,
) -> CatalogFolders:
    """The layers of catalogue ``kind``: the shipped folder (unless ``shipped`` is false),
    then ``repo`` when given and not the shipped folder itself (keycliq's own checkout)."""
    base = SHIPPED_CHECKLISTS if kind == "checklists" else SHIPPED_DATACLIPS
    layers: list[Layer] = [Layer("shipped", base)] if shipped else []
    if repo is not None and repo.resolve() != base.resolve():
        layers.append(Layer("repo", repo, explicit=explicit or not shipped))
    if not layers:
        layers.append(Layer("shipped", base))
    return CatalogFolders(kind=kind, layers=tuple(layers))


def shipped_checklists() -> CatalogFolders:
    """The shipped checklists alone (no keycliq.yaml)."""
    return layered("checklists")


def shipped_dataclips() -> CatalogFolders:
    """The shipped Dataclips alone (no keycliq.yaml)."""
    return layered("dataclips")


def find_config(start: Path | None = None) -> Path | None:
    """Walk up from ``start`` (default: the working directory) to the first keycliq.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and the folder its relative paths are relative to."""

    config: Config
    path: Path
    doc: YamlDoc | None = field(default=None, compare=False, repr=False)

    def where(self, *loc: str | int) -> str:
        """``keycliq.yaml:LINE`` of a setting (``where("migrations", "strategy")``)."""
        line = self.doc.line_of(loc) if self.doc is not None else None
        try:
            shown = str(self.path.relative_to(Path.cwd().resolve()))
        except (ValueError, OSError):
            shown = str(self.path)
        return f"{shown}:{line}" if line else shown

    @property
    def root(self) -> Path:
        return self.path.parent

    def _resolve(self, p: Path) -> Path:
        return p if p.is_absolute() else self.root / p

    def env(self, name: str) -> Environment:
        try:
            return self.config.environments[name]
        except KeyError:
            known = ", ".join(self.config.environments) or "none"
            raise UsageError(
                f"unknown environment {name!r} (known: {known})",
                hint=f"environments are defined in {self.path}",
            ) from None

    def owns(self, relative: str) -> bool:
        """Whether a path of the checkout (relative to its root) is one of keycliq's own
        files: ``.keycliq/``, the ledger, the reports, the Dataclip history. They never make
        the work tree dirty for a deploy."""
        full = (self.root / relative).resolve()
        mine = (self.root / ".keycliq", self.ledger_path, self.reports_dir, self.history_path)
        return any(full == p.resolve() or p.resolve() in full.parents for p in mine)

    @property
    def ledger_path(self) -> Path:
        override = os.environ.get("KEYCLIQ_LEDGER")
        return Path(override) if override else self._resolve(self.config.paths.ledger)

    @property
    def reports_dir(self) -> Path:
        return self._resolve(self.config.paths.reports)

    @property
    def history_path(self) -> Path:
        return self._resolve(self.config.paths.history)

    def _folders(self, kind: Literal["checklists", "dataclips"]) -> CatalogFolders:
        p = getattr(self.config.paths, kind)
        repo = self._resolve(p) if p is not None else self.root / kind
        return layered(kind, repo, explicit=p is not None, shipped=self.config.paths.shipped)

    @property
    def checklists_dir(self) -> CatalogFolders:
        """The checklist folders: the shipped ones, then the repository's."""
        return self._folders("checklists")

    @property
    def dataclips_dir(self) -> CatalogFolders:
        """The Dataclip folders: the shipped ones, then the repository's."""
        return self._folders("dataclips")

    def checklist_catalog(self) -> ChecklistCatalog:
        from keycliq_ops.checklists.files import ChecklistCatalog

        return ChecklistCatalog(self.checklists_dir)

    def dataclip_catalog(self) -> Catalog:
        from keycliq_ops.dataclips.fileformat import load_catalog

        return load_catalog(self.dataclips_dir)

    def check_references(self) -> None:
        """Everything keycliq.yaml names in the catalogues exists, as a deploy will need it:
        each environment's Dataclip gate (``dataclips``, or the default for its stage), its
        checklist (``checklist``, or the one named after it) and the Dataclips that
        checklist's items run. A ConfigError (exit 2) at the setting's file:line, listing
        the known ids; a broken checklist or Dataclip file is its own file:line. The first
        problem is raised; :meth:`reference_problems` lists them all."""
        problems = self.reference_problems()
        if problems:
            raise problems[0]

    def reference_problems(self) -> list[ConfigError]:
        """Every problem :meth:`check_references` looks for, in file order per environment
        (an unreadable Dataclip catalogue is one problem: nothing else can be checked)."""
        try:
            catalog = self.dataclip_catalog()
        except ConfigError as exc:
            return [exc]
        known = {i.lower() for i in catalog.ids()}
        listed = ", ".join(catalog.ids()) or "none"
        hint = f"the Dataclip catalogue is {self.dataclips_dir.describe()}"
        problems: list[ConfigError] = []
        for name, env in self.config.environments.items():
            for i, clip_id in enumerate(env.effective_dataclips()):
                if clip_id.lower() in known:
                    continue
                if env.dataclips is not None:
                    loc: tuple[str | int, ...] = ("environments", name, "dataclips", i)
                    what = f"unknown Dataclip {clip_id!r}"
                else:
                    loc = ("environments", name, "dataclips")
                    what = f"unknown Dataclip {clip_id!r} (the default for {env.stage})"
                problems.append(
                    ConfigError(
                        f"{what} (known: {listed})",
                        location=self.where(*loc),
                        field=_dotted(loc),
                        hint=hint + "; set environments.NAME.dataclips to the ids to run",
                    )
                )
            try:
                problems.extend(self._checklist_problems(name, known, listed, hint))
            except ConfigError as exc:  # the checklist file itself is broken
                problems.append(exc)
        return problems

    def _checklist_problems(
        self, env_name: str, known: set[str], listed: str, hint: str
    ) -> list[ConfigError]:
        from keycliq_ops.base.yamlfile import load_yaml
        from keycliq_ops.checklists.files import load_checklist
        from keycliq_ops.checklists.items import DataclipItem

        catalog = self.checklist_catalog()
        name = self.config.environments[env_name].checklist
        if name is None:
            if not (self.checklists_dir / f"{env_name}.yaml").exists():
                return []  # as a deploy decides: no checklist for this environment
            name = env_name
        try:
            path = catalog.find(name)
        except UsageError:
            loc = ("environments", env_name, "checklist")
            return [
                ConfigError(
                    f"unknown checklist {name!r} (known: {', '.join(catalog.names()) or 'none'})",
                    location=self.where(*loc),
                    field=_dotted(loc),
                    hint=f"a checklist is a file NAME.yaml in {self.checklists_dir.describe()}",
                )
            ]
        checklist = load_checklist(path)
        problems: list[ConfigError] = []
        for si, section in enumerate(checklist.sections):
            for ii, item in enumerate(section.items):
                if not isinstance(item, DataclipItem):
                    continue
                for k, clip_id in enumerate(item.dataclips):
                    if clip_id.lower() in known:
                        continue
                    where = ("sections", si, "items", ii, "dataclips", k)
                    problems.append(
                        ConfigError(
                            f"item {item.id} names unknown Dataclip {clip_id!r} (known: {listed})",
                            location=load_yaml(path).where(where),
                            field=_dotted(where),
                            hint=hint,
                        )
                    )
        return problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    from keycliq_ops.base.yamlfile import format_loc

    return format_loc(loc)


def _config_path(path: Path | None) -> Path:
    if path is None and os.environ.get("KEYCLIQ_CONFIG"):
        path = Path(os.environ["KEYCLIQ_CONFIG"])
    if path is None:
        path = find_config()
        if path is None:
            raise ConfigError(
                f"no {CONFIG_NAME} in {Path.cwd()} or any folder above it",
                hint="run `keycliq init` in your KeyCliq checkout, or pass --config FILE",
            )
    return path


def load_config(path: Path | None = None) -> LoadedConfig:
    """Load the config at ``path``, else ``KEYCLIQ_CONFIG``, else the nearest keycliq.yaml."""
    from keycliq_ops.base.yamlfile import load_yaml, validate

    path = _config_path(path)
    doc = load_yaml(path)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise ConfigError("the file must be a mapping of keys", location=doc.where())
    return LoadedConfig(config=validate(Config, doc), path=path.resolve(), doc=doc)


def config_problems(path: Path | None = None) -> tuple[LoadedConfig | None, list[ConfigError]]:
    """Every problem of the config :func:`load_config` would load, each a ConfigError at
    its file:line and field: every value the models refuse, then (when the file is valid)
    every reference :meth:`LoadedConfig.reference_problems` finds. A file that is not
    readable YAML is one problem (nothing past it can be read). The loaded config is
    returned when the models accept the file."""
    from pydantic import ValidationError

    from keycliq_ops.base.yamlfile import describe_error, format_loc, load_yaml

    path = _config_path(path)
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        return None, [exc]
    if doc.data is not None and not isinstance(doc.data, dict):
        return None, [ConfigError("the file must be a mapping of keys", location=doc.where())]
    try:
        config = Config.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            loc = tuple(p for p in e["loc"] if isinstance(p, str | int))
            problems.append(
                ConfigError(describe_error(e), location=doc.where(loc), field=format_loc(loc))
            )
        problems.sort(key=lambda p: _line_key(p.location))
        return None, problems
    loaded = LoadedConfig(config=config, path=path.resolve(), doc=doc)
    return loaded, loaded.reference_problems()


def _line_key(location: str | None) -> int:
    tail = (location or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0
