"""Workflow definitions: YAML in workflows/ read into frozen values and checked at load time.

A mistake is refused with the file, the line and the step named. Unknown keys are errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from engine.errors import DefinitionError

LINE = "__line__"


class StepKind(StrEnum):
    HUMAN = "human"
    AUTOMATED = "automated"
    PARALLEL = "parallel"
    END = "end"


class Role(StrEnum):
    SPECIALIST = "specialist"
    HEAD = "head"
    LEADER = "leader"
    CLERK = "clerk"
    ARCHIVIST = "archivist"
    ADMIN = "admin"


class ActionName(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    FORWARD = "forward"
    CONSULT = "consult"
    SIGN = "sign"
    ISSUE = "issue"
    REGISTER = "register"
    ASSIGN = "assign"
    COMMENT = "comment"
    COMPLETE = "complete"


class PersonRule(StrEnum):
    INITIATOR = "initiator"
    CHOSEN = "chosen"


UNIT_INITIATOR = "initiator"
"""As an actor's unit: the unit of the user who started the instance."""


@dataclass(frozen=True)
class Actor:
    """Who may act on a human step."""

    role: Role
    unit: str | None = None
    """None: any unit; 'initiator': the initiator's unit; otherwise a unit code such as 'PC'."""
    person: PersonRule | None = None
    """initiator: only the starter; chosen: only the person named by the previous action."""


@dataclass(frozen=True)
class Action:
    """An action allowed at a human step and where it leads."""

    name: ActionName
    to: str | None
    """Next step; None only inside a parallel branch, where the action completes the branch."""
    comment_required: bool = False
    choose: Role | None = None
    """The actor names a user of this role, who acts at the next step (person: chosen)."""
    line: int = 0


@dataclass(frozen=True)
class Step:
    """One step of a definition."""

    id: str
    title: str
    """Vietnamese, shown in inboxes."""
    kind: StepKind
    actor: Actor | None = None
    actions: tuple[Action, ...] = ()
    run: str | None = None
    """Automated steps: the name of the step function."""
    next: str | None = None
    """Automated steps: the following step; parallel steps: the step after the join."""
    branches: tuple[str, ...] = ()
    join: str = "all"
    """Parallel steps: 'all' waits for every branch, 'any' for the first."""
    deadline_days: int | None = None
    """Working days allowed for a human step."""
    line: int = 0

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name.value == name:
                return action
        raise LookupError(f"bước '{self.id}' không có thao tác '{name}'")


@dataclass(frozen=True)
class WorkflowDefinition:
    """A whole workflow as read from one YAML file."""

    name: str
    title: str
    version: int
    document: str
    """Which documents it handles: outgoing, incoming or procedure."""
    start: str
    steps: Mapping[str, Step]
    source: str
    digest: str
    """SHA-256 of the file: instances remember which version they run."""

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line number under the key '__line__'."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping  # type: ignore[return-value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Reader:
    """Reads one file, raising DefinitionError with its name and the current line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(
        self, problem: str, node: Mapping[str, Any] | None = None, step: str | None = None
    ) -> DefinitionError:
        line = node.get(LINE) if isinstance(node, Mapping) else None
        return DefinitionError(self.source, problem, step=step, line=line)

    def keys(
        self, node: Any, required: set[str], optional: set[str], what: str, step: str | None = None
    ) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            raise self.fail(f"{what} phải là một ánh xạ (khóa: giá trị)", None, step)
        present = set(node) - {LINE}
        unknown = present - required - optional
        if unknown:
            raise self.fail(f"{what}: khóa không hợp lệ {sorted(unknown)}", node, step)
        missing = required - present
        if missing:
            raise self.fail(f"{what}: thiếu khóa {sorted(missing)}", node, step)
        return node

    def enum(
        self, enum: type[StrEnum], value: Any, field: str, node: Mapping[str, Any], step: str | None
    ) -> Any:
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise self.fail(
                f"{field} '{value}' không hợp lệ (được phép: {allowed})", node, step
            ) from None


def load_definition(path: Path, *, automated_steps: Collection[str]) -> WorkflowDefinition:
    raw_bytes = path.read_bytes()
    reader = _Reader(str(path))
    try:
        raw = yaml.load(raw_bytes.decode("utf-8"), Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DefinitionError(str(path), f"lỗi cú pháp YAML: {exc.problem}", line=line) from exc
    except UnicodeDecodeError as exc:
        raise DefinitionError(str(path), "tệp không phải UTF-8") from exc
    top = reader.keys(
        raw, {"name", "title", "version", "document", "start", "steps"}, set(), "tệp định nghĩa"
    )
    if not isinstance(top["steps"], list) or not top["steps"]:
        raise reader.fail("'steps' phải là danh sách các bước", top)
    if not isinstance(top["version"], int) or top["version"] < 1:
        raise reader.fail("'version' phải là số nguyên dương", top)
    steps: dict[str, Step] = {}
    for node in top["steps"]:
        step = _read_step(reader, node, automated_steps)
        if step.id in steps:
            raise reader.fail("mã bước bị trùng", node, step.id)
        steps[step.id] = step
    definition = WorkflowDefinition(
        name=str(top["name"]),
        title=str(top["title"]),
        version=top["version"],
        document=str(top["document"]),
        start=str(top["start"]),
        steps=MappingProxyType(steps),
        source=str(path),
        digest=hashlib.sha256(raw_bytes).hexdigest(),
    )
    _check_graph(reader, definition)
    return definition


def _read_step(reader: _Reader, node: Any, automated_steps: Collection[str]) -> Step:
    common = {"id", "title", "kind"}
    if not isinstance(node, Mapping) or "id" not in node or "kind" not in node:
        raise reader.fail(
            "mỗi bước cần 'id' và 'kind'", node if isinstance(node, Mapping) else None
        )
    step_id = str(node["id"])
    kind = reader.enum(StepKind, node["kind"], "kind", node, step_id)
    line = int(node[LINE])
    if kind is StepKind.HUMAN:
        reader.keys(node, common | {"actor", "actions"}, {"deadline_days"}, "bước", step_id)
        return Step(
            step_id,
            str(node["title"]),
            kind,
            actor=_read_actor(reader, node["actor"], step_id),
            actions=_read_actions(reader, node["actions"], step_id),
            deadline_days=_deadline(reader, node, step_id),
            line=line,
        )
    if kind is StepKind.AUTOMATED:
        reader.keys(node, common | {"run", "next"}, set(), "bước tự động", step_id)
        if node["run"] not in automated_steps:
            known = ", ".join(sorted(automated_steps))
            raise reader.fail(f"không có bước tự động '{node['run']}' (có: {known})", node, step_id)
        return Step(
            step_id,
            str(node["title"]),
            kind,
            run=str(node["run"]),
            next=str(node["next"]),
            line=line,
        )
    if kind is StepKind.PARALLEL:
        reader.keys(node, common | {"branches", "next"}, {"join"}, "bước song song", step_id)
        branches = node["branches"]
        if not isinstance(branches, list) or not branches:
            raise reader.fail("'branches' phải là danh sách bước không rỗng", node, step_id)
        join = node.get("join", "all")
        if join not in ("all", "any"):
            raise reader.fail(f"join '{join}' không hợp lệ (all hoặc any)", node, step_id)
        return Step(
            step_id,
            str(node["title"]),
            kind,
            branches=tuple(str(b) for b in branches),
            join=join,
            next=str(node["next"]),
            line=line,
        )
    reader.keys(node, common, set(), "bước kết thúc", step_id)
    return Step(step_id, str(node["title"]), kind, line=line)


def _deadline(reader: _Reader, node: Mapping[str, Any], step_id: str) -> int | None:
    value = node.get("deadline_days")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise reader.fail("deadline_days phải là số ngày làm việc nguyên dương", node, step_id)
    return value


def _read_actor(reader: _Reader, node: Any, step_id: str) -> Actor:
    reader.keys(node, {"role"}, {"unit", "person"}, "actor", step_id)
    person = node.get("person")
    return Actor(
        role=reader.enum(Role, node["role"], "role", node, step_id),
        unit=str(node["unit"]) if node.get("unit") is not None else None,
        person=reader.enum(PersonRule, person, "person", node, step_id) if person else None,
    )


def _read_actions(reader: _Reader, nodes: Any, step_id: str) -> tuple[Action, ...]:
    if not isinstance(nodes, list) or not nodes:
        raise reader.fail("bước của người cần ít nhất một thao tác", None, step_id)
    actions: list[Action] = []
    for node in nodes:
        reader.keys(node, {"name"}, {"to", "comment", "choose"}, "thao tác", step_id)
        name = reader.enum(ActionName, node["name"], "thao tác", node, step_id)
        if any(a.name is name for a in actions):
            raise reader.fail(f"thao tác '{name.value}' bị lặp", node, step_id)
        comment = node.get("comment", "optional")
        if comment not in ("required", "optional"):
            raise reader.fail("comment phải là 'required' hoặc 'optional'", node, step_id)
        choose = node.get("choose")
        actions.append(
            Action(
                name=name,
                to=str(node["to"]) if node.get("to") is not None else None,
                comment_required=comment == "required",
                choose=reader.enum(Role, choose, "choose", node, step_id) if choose else None,
                line=int(node[LINE]),
            )
        )
    return tuple(actions)


def _where(step: Step, action: Action | None = None) -> dict[str, Any]:
    return {LINE: action.line if action else step.line}


def _check_graph(reader: _Reader, definition: WorkflowDefinition) -> None:
    steps = definition.steps
    if definition.start not in steps:
        raise reader.fail(f"bước bắt đầu '{definition.start}' không có trong 'steps'")
    branch_of = {b: s.id for s in steps.values() if s.kind is StepKind.PARALLEL for b in s.branches}
    for step in steps.values():
        _check_step(reader, definition, step, branch_of)
    reached = _reachable(definition, branch_of)
    for step in steps.values():
        if step.id not in reached:
            raise reader.fail("không thể đi tới bước này từ bước bắt đầu", _where(step), step.id)
    if not any(steps[s].kind is StepKind.END for s in reached):
        raise reader.fail("quy trình không có bước kết thúc (kind: end) đi tới được")


def _check_step(
    reader: _Reader, definition: WorkflowDefinition, step: Step, branch_of: dict[str, str]
) -> None:
    steps = definition.steps
    if step.next is not None and step.next not in steps:
        raise reader.fail(f"'next' trỏ tới bước không có: '{step.next}'", _where(step), step.id)
    for branch in step.branches:
        target = steps.get(branch)
        if target is None or target.kind is not StepKind.HUMAN:
            raise reader.fail(
                f"nhánh '{branch}' phải là một bước của người có trong quy trình",
                _where(step),
                step.id,
            )
        if any(a.to is not None for a in target.actions):
            raise reader.fail(
                "thao tác trong nhánh song song không có 'to' (nhánh tự kết thúc)",
                _where(target),
                branch,
            )
    in_branch = step.id in branch_of
    for action in step.actions:
        if action.to is None and not in_branch:
            raise reader.fail(
                f"thao tác '{action.name.value}' thiếu 'to'", _where(step, action), step.id
            )
        if action.to is not None and action.to not in steps:
            raise reader.fail(
                f"thao tác '{action.name.value}' dẫn tới bước không có: '{action.to}'",
                _where(step, action),
                step.id,
            )
        if action.to in branch_of:
            raise reader.fail(
                f"thao tác '{action.name.value}' không được dẫn thẳng vào nhánh '{action.to}'",
                _where(step, action),
                step.id,
            )
        target = steps.get(action.to) if action.to else None
        wants_chosen = bool(target and target.actor and target.actor.person is PersonRule.CHOSEN)
        if action.choose is not None and not wants_chosen:
            raise reader.fail(
                f"thao tác '{action.name.value}' chọn người nhưng bước sau "
                "không dùng person: chosen",
                _where(step, action),
                step.id,
            )
        if wants_chosen and action.choose is None:
            raise reader.fail(
                f"bước '{action.to}' cần người được chọn nhưng thao tác "
                f"'{action.name.value}' không chọn",
                _where(step, action),
                step.id,
            )
    if step.kind is StepKind.HUMAN and step.actor and step.actor.person is PersonRule.CHOSEN:
        feeders = [s for s in steps.values() if step.id in (s.next,)]
        if feeders:
            raise reader.fail(
                "bước dùng person: chosen chỉ đi tới được qua thao tác có 'choose'",
                _where(step),
                step.id,
            )


def _reachable(definition: WorkflowDefinition, branch_of: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    pending = [definition.start]
    while pending:
        step = definition.steps.get(pending.pop())
        if step is None or step.id in seen:
            continue
        seen.add(step.id)
        pending += [a.to for a in step.actions if a.to]
        pending += [s for s in (step.next, *step.branches) if s]
    return seen


def load_definitions(
    directory: Path, *, automated_steps: Collection[str]
) -> dict[str, WorkflowDefinition]:
    found: dict[str, WorkflowDefinition] = {}
    for path in sorted(directory.glob("*.yaml")):
        definition = load_definition(path, automated_steps=automated_steps)
        if definition.name in found:
            raise DefinitionError(
                str(path),
                f"tên quy trình '{definition.name}' trùng với {found[definition.name].source}",
            )
        found[definition.name] = definition
    return found
