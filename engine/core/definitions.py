"""Workflow definitions: YAML files in workflows/ read into frozen values, checked at load time.

Definitions are data an administrator edits, so every mistake is refused when the file is read,
never halfway through a document's life, and the refusal names the file, the line and the step.
Unknown keys are errors: a misspelt ``deadline_day`` silently ignored is a deadline nobody keeps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

from engine.core.errors import DefinitionError


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

DOCUMENT_KINDS = ("outgoing", "incoming", "procedure", "disposal")
"""What a definition may handle: outgoing, incoming documents, administrative procedures,
proposals to dispose of expired archive records."""

JOINS = ("all", "any")
"""How a parallel step ends: when every branch is done, or when the first one is."""

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Actor:
    """Who may act on a human step."""

    role: Role
    """The role the acting user must hold."""
    unit: str | None = None
    """None: any unit; 'initiator': the initiator's unit; otherwise a unit code such as 'PC'."""
    person: PersonRule | None = None
    """initiator: only the user who started it; chosen: only the user the previous action named."""


@dataclass(frozen=True)
class Action:
    """An action allowed at a human step and where it leads."""

    name: ActionName
    """What the user does (submit, approve, return...)."""
    to: str | None
    """The next step; None only inside a parallel branch, where the action completes the branch."""
    comment_required: bool = False
    """YAML ``comment: required``: the action is refused without a comment."""
    choose: Role | None = None
    """The actor names a user of this role, who becomes the 'chosen' person of the next step."""
    line: int = 0
    """Line of the action's mapping in the YAML file."""


@dataclass(frozen=True)
class Step:
    """One step of a definition."""

    id: str
    """Short code, lower case, unique in the definition."""
    title: str
    """Vietnamese, shown in inboxes."""
    kind: StepKind
    """human, automated, parallel or end."""
    actor: Actor | None = None
    """Human steps only: who may act."""
    actions: tuple[Action, ...] = ()
    """Human steps only: what they may do, at least one."""
    run: str | None = None
    """Automated steps only: the name of the automated step function."""
    next: str | None = None
    """Automated steps: the following step; parallel steps: the step after the join."""
    branches: tuple[str, ...] = ()
    """Parallel steps only: the human steps opened at once."""
    join: str = "all"
    """Parallel steps: 'all' waits for every branch, 'any' for the first."""
    deadline_days: int | None = None
    """Human steps: working days allowed (weekends and public holidays skipped)."""
    line: int = 0
    """Line of the step's mapping in the YAML file."""

    def action(self, name: str) -> Action:
        """The action called ``name``; LookupError when this step does not allow it."""
        for action in self.actions:
            if action.name == name:
                return action
        allowed = ", ".join(action.name.value for action in self.actions) or "không có"
        raise LookupError(f"bước '{self.id}' không có thao tác '{name}' (được phép: {allowed})")


@dataclass(frozen=True)
class WorkflowDefinition:
    """A whole workflow as read from one YAML file."""

    name: str
    """Short code, e.g. 'outgoing'; unique among the loaded definitions."""
    title: str
    """Vietnamese, e.g. 'Văn bản đi'."""
    version: int
    """Raised by the administrator at each edit."""
    document: str
    """Which documents it handles: one of DOCUMENT_KINDS."""
    start: str
    """The step a new instance enters."""
    steps: Mapping[str, Step]
    """Every step by id, in file order (read-only)."""
    source: str
    """The file it came from."""
    digest: str
    """SHA-256 of the file's bytes: instances remember which version they run."""

    def __hash__(self) -> int:
        return hash((self.name, self.digest))

    def step(self, step_id: str) -> Step:
        """The step ``step_id``; LookupError when the definition has none."""
        try:
            return self.steps[step_id]
        except KeyError:
            raise LookupError(f"quy trình '{self.name}' không có bước '{step_id}'") from None

    def parallel_of(self, step_id: str) -> Step | None:
        """The parallel step whose branch ``step_id`` is, or None outside any branch."""
        for step in self.steps.values():
            if step_id in step.branches:
                return step
        return None


def load_definitions(
    directory: Path, *, automated_steps: Collection[str]
) -> dict[str, WorkflowDefinition]:
    """Every ``*.yaml`` in ``directory``, by name; two files with one name are refused."""
    if not directory.is_dir():
        raise DefinitionError(str(directory), "không có thư mục định nghĩa quy trình này")
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


def load_definition(path: Path, *, automated_steps: Collection[str]) -> WorkflowDefinition:
    """Read and check one file; DefinitionError names the first mistake found."""
    raw, data = _parse(path)
    reader = _Reader(str(path), automated_steps)
    top = reader.mapping(raw, "tệp định nghĩa (cần các khóa name, title, version...)", line=1)
    reader.keys(top, {"name", "title", "version", "document", "start", "steps"}, set(), "tệp")
    definition = WorkflowDefinition(
        name=reader.identifier(top, "name", None),
        title=reader.text(top, "title", None),
        version=reader.positive_int(top, "version", None),
        document=reader.one_of(top, "document", DOCUMENT_KINDS, None),
        start=reader.text(top, "start", None),
        steps=MappingProxyType(reader.steps(top)),
        source=str(path),
        digest=hashlib.sha256(data).hexdigest(),
    )
    _Graph(reader, definition, top.line_of("start")).check()
    return definition


# --- Reading YAML with line numbers -------------------------------------------------------------


class _Map(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Seq(list[Any]):
    """A YAML sequence that remembers its line."""

    line: int


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps line numbers and refuses a key written twice in one mapping."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line, result.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ConstructorError(None, None, f"khóa {key!r} phải là chữ", key_node.start_mark)
        if key in result:
            first = result.key_lines[key]
            problem = f"khóa '{key}' viết hai lần (lần đầu ở dòng {first})"
            raise ConstructorError(None, None, problem, key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


def _construct_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    """Dates stay text: a definition has none, and PyYAML fails on 2026-13-01 without a line."""
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _parse(path: Path) -> tuple[Any, bytes]:
    """The file's YAML content and its bytes (for the digest)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(str(path), f"không đọc được tệp: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(str(path), "tệp không phải văn bản UTF-8") from exc
    try:
        return yaml.load(text, Loader=_Loader), data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        kind = "" if isinstance(exc, ConstructorError) else "lỗi cú pháp YAML: "
        raise DefinitionError(str(path), f"{kind}{exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(str(path), f"lỗi cú pháp YAML: {exc}") from exc


_E = TypeVar("_E", bound=StrEnum)

_STEP_KEYS: dict[StepKind, tuple[set[str], set[str]]] = {
    StepKind.HUMAN: ({"id", "title", "kind", "actor", "actions"}, {"deadline_days"}),
    StepKind.AUTOMATED: ({"id", "title", "kind", "run", "next"}, set()),
    StepKind.PARALLEL: ({"id", "title", "kind", "branches", "next"}, {"join"}),
    StepKind.END: ({"id", "title", "kind"}, set()),
}


class _Reader:
    """Turns the YAML of one file into values, raising DefinitionError at the first mistake."""

    def __init__(self, source: str, automated_steps: Collection[str]) -> None:
        self.source = source
        self.automated_steps = automated_steps

    def error(self, problem: str, *, line: int | None, step: str | None) -> DefinitionError:
        return DefinitionError(self.source, problem, step=step, line=line)

    def mapping(self, value: Any, what: str, *, line: int | None, step: str | None = None) -> _Map:
        if not isinstance(value, _Map):
            raise self.error(f"{what} phải là một ánh xạ 'khóa: giá trị'", line=line, step=step)
        return value

    def keys(
        self, node: _Map, required: set[str], optional: set[str], what: str, step: str | None = None
    ) -> None:
        unknown = sorted(set(node) - required - optional, key=lambda k: (node.line_of(k), k))
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.error(
                f"{what}: khóa không hợp lệ '{unknown[0]}' (được phép: {allowed})",
                line=node.line_of(unknown[0]),
                step=step,
            )
        missing = sorted(required - set(node))
        if missing:
            raise self.error(f"{what}: thiếu khóa '{missing[0]}'", line=node.line, step=step)

    def text(self, node: _Map, key: str, step: str | None) -> str:
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                f"'{key}' phải là chữ, không để trống (đang là {value!r})",
                line=node.line_of(key),
                step=step,
            )
        return value.strip()

    def identifier(self, node: _Map, key: str, step: str | None) -> str:
        value = self.text(node, key, step)
        if not _IDENTIFIER.match(value):
            raise self.error(
                f"'{key}: {value}' chỉ được gồm chữ thường không dấu, chữ số và '_', "
                "bắt đầu bằng chữ",
                line=node.line_of(key),
                step=step,
            )
        return value

    def positive_int(self, node: _Map, key: str, step: str | None) -> int:
        value = node[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.error(
                f"'{key}' phải là số nguyên dương (đang là {value!r})",
                line=node.line_of(key),
                step=step,
            )
        return value

    def one_of(self, node: _Map, key: str, allowed: Collection[str], step: str | None) -> str:
        value = node[key]
        if value not in allowed:
            raise self.error(
                f"{key} '{value}' không hợp lệ (được phép: {', '.join(allowed)})",
                line=node.line_of(key),
                step=step,
            )
        return str(value)

    def choice(self, enum: type[_E], node: _Map, key: str, step: str | None) -> _E:
        value = self.one_of(node, key, [member.value for member in enum], step)
        return enum(value)

    def sequence(self, node: _Map, key: str, what: str, step: str | None) -> _Seq:
        value = node[key]
        if not isinstance(value, _Seq) or not value:
            raise self.error(
                f"'{key}' phải là danh sách {what}, ít nhất một mục",
                line=node.line_of(key),
                step=step,
            )
        return value

    def steps(self, top: _Map) -> dict[str, Step]:
        steps: dict[str, Step] = {}
        items = self.sequence(top, "steps", "các bước", None)
        for raw in items:
            step = self.step(self.mapping(raw, "mỗi bước", line=items.line))
            if step.id in steps:
                raise self.error(
                    f"mã bước bị trùng (đã dùng ở dòng {steps[step.id].line})",
                    line=step.line,
                    step=step.id,
                )
            steps[step.id] = step
        return steps

    def step(self, node: _Map) -> Step:
        if "id" not in node:
            raise self.error("bước thiếu khóa 'id'", line=node.line, step=None)
        step_id = self.identifier(node, "id", None)
        if "kind" not in node:
            raise self.error("bước thiếu khóa 'kind'", line=node.line, step=step_id)
        kind = self.choice(StepKind, node, "kind", step_id)
        required, optional = _STEP_KEYS[kind]
        self.keys(node, required, optional, f"bước loại {kind.value}", step_id)
        step = Step(step_id, self.text(node, "title", step_id), kind, line=node.line)
        if kind is StepKind.HUMAN:
            return self.human(node, step)
        if kind is StepKind.AUTOMATED:
            return self.automated(node, step)
        if kind is StepKind.PARALLEL:
            return self.parallel(node, step)
        return step

    def human(self, node: _Map, step: Step) -> Step:
        deadline = None
        if node.get("deadline_days") is not None:
            deadline = self.positive_int(node, "deadline_days", step.id)
        return Step(
            step.id,
            step.title,
            step.kind,
            actor=self.actor(node, step.id),
            actions=self.actions(node, step.id),
            deadline_days=deadline,
            line=step.line,
        )

    def automated(self, node: _Map, step: Step) -> Step:
        run = self.text(node, "run", step.id)
        if run not in self.automated_steps:
            known = ", ".join(sorted(self.automated_steps))
            raise self.error(
                f"không có bước tự động '{run}' (có: {known})",
                line=node.line_of("run"),
                step=step.id,
            )
        next_step = self.text(node, "next", step.id)
        return Step(step.id, step.title, step.kind, run=run, next=next_step, line=step.line)

    def parallel(self, node: _Map, step: Step) -> Step:
        items = self.sequence(node, "branches", "mã các bước nhánh", step.id)
        branches = tuple(self.branch(item, node, step.id) for item in items)
        join = self.one_of(node, "join", JOINS, step.id) if "join" in node else "all"
        return Step(
            step.id,
            step.title,
            step.kind,
            next=self.text(node, "next", step.id),
            branches=branches,
            join=join,
            line=step.line,
        )

    def branch(self, item: Any, node: _Map, step_id: str) -> str:
        if not isinstance(item, str) or not item.strip():
            raise self.error(
                f"mỗi nhánh trong 'branches' phải là mã một bước (đang là {item!r})",
                line=node.line_of("branches"),
                step=step_id,
            )
        return item.strip()

    def actor(self, node: _Map, step_id: str) -> Actor:
        actor = self.mapping(node["actor"], "'actor'", line=node.line_of("actor"), step=step_id)
        self.keys(actor, {"role"}, {"unit", "person"}, "actor", step_id)
        return Actor(
            role=self.choice(Role, actor, "role", step_id),
            unit=self.text(actor, "unit", step_id) if actor.get("unit") is not None else None,
            person=(
                self.choice(PersonRule, actor, "person", step_id)
                if actor.get("person") is not None
                else None
            ),
        )

    def actions(self, node: _Map, step_id: str) -> tuple[Action, ...]:
        items = self.sequence(node, "actions", "thao tác", step_id)
        actions: dict[ActionName, Action] = {}
        for raw in items:
            item = self.mapping(raw, "mỗi thao tác", line=items.line, step=step_id)
            action = self.action(item, step_id)
            if action.name in actions:
                raise self.error(
                    f"thao tác '{action.name.value}' viết hai lần "
                    f"(lần đầu ở dòng {actions[action.name].line})",
                    line=action.line,
                    step=step_id,
                )
            actions[action.name] = action
        return tuple(actions.values())

    def action(self, node: _Map, step_id: str) -> Action:
        self.keys(node, {"name"}, {"to", "comment", "choose"}, "thao tác", step_id)
        name = self.choice(ActionName, node, "name", step_id)
        comment = "optional"
        if "comment" in node:
            comment = self.one_of(node, "comment", ("required", "optional"), step_id)
        return Action(
            name=name,
            to=self.text(node, "to", step_id) if node.get("to") is not None else None,
            comment_required=comment == "required",
            choose=self.choice(Role, node, "choose", step_id) if "choose" in node else None,
            line=node.line,
        )


# --- Checking the graph -------------------------------------------------------------------------


class _Graph:
    """Checks that one definition's steps form a workflow an instance can run to its end."""

    def __init__(self, reader: _Reader, definition: WorkflowDefinition, start_line: int) -> None:
        self.reader = reader
        self.definition = definition
        self.steps = definition.steps
        self.start_line = start_line
        self.branch_of: dict[str, Step] = {}

    def check(self) -> None:
        self.check_start()
        self.check_targets()
        self.check_parallel_steps()
        self.check_branch_entries()
        self.check_open_actions()
        self.check_choices()
        self.check_reachable()
        self.check_finishes()

    def fail(self, problem: str, step: Step, action: Action | None = None) -> DefinitionError:
        line = action.line if action else step.line
        return self.reader.error(problem, line=line, step=step.id)

    def all_actions(self) -> Iterator[tuple[Step, Action]]:
        for step in self.steps.values():
            for action in step.actions:
                yield step, action

    def check_start(self) -> None:
        start = self.definition.start
        if start not in self.steps:
            raise self.reader.error(
                f"bước bắt đầu '{start}' không có trong 'steps'", line=self.start_line, step=None
            )
        actor = self.steps[start].actor
        if actor is not None and actor.person is PersonRule.CHOSEN:
            raise self.fail(
                "bước bắt đầu không thể dùng 'person: chosen': chưa có thao tác nào chọn người",
                self.steps[start],
            )

    def check_targets(self) -> None:
        for step in self.steps.values():
            if step.next is not None and step.next not in self.steps:
                raise self.fail(f"'next' dẫn tới bước không có: '{step.next}'", step)
        for step, action in self.all_actions():
            if action.to is not None and action.to not in self.steps:
                raise self.fail(
                    f"thao tác '{action.name.value}' dẫn tới bước không có: '{action.to}'",
                    step,
                    action,
                )

    def check_parallel_steps(self) -> None:
        for step in self.steps.values():
            for branch in step.branches:
                self.check_branch(step, branch)
                self.branch_of[branch] = step

    def check_branch(self, parallel: Step, branch: str) -> None:
        target = self.steps.get(branch)
        if target is None or target.kind is not StepKind.HUMAN:
            what = "không có" if target is None else f"là bước loại {target.kind.value}"
            raise self.fail(f"nhánh '{branch}' {what}: nhánh phải là bước loại human", parallel)
        if branch in self.branch_of:
            raise self.fail(
                f"bước '{branch}' đã là nhánh của bước song song '{self.branch_of[branch].id}'",
                parallel,
            )
        for action in target.actions:
            if action.to is not None:
                raise self.fail(
                    f"thao tác '{action.name.value}' trong nhánh song song '{parallel.id}' "
                    "không được có 'to': làm xong là xong nhánh, sau đó quy trình đi tiếp "
                    f"theo 'next' của '{parallel.id}'",
                    target,
                    action,
                )
        if target.actor is not None and target.actor.person is PersonRule.CHOSEN:
            raise self.fail(
                f"nhánh song song không thể dùng 'person: chosen': bước '{parallel.id}' "
                "không chọn người",
                target,
            )

    def check_branch_entries(self) -> None:
        if self.definition.start in self.branch_of:
            raise self.reader.error(
                f"bước bắt đầu '{self.definition.start}' là nhánh của bước song song "
                f"'{self.branch_of[self.definition.start].id}'; chỉ vào được nhánh qua bước đó",
                line=self.start_line,
                step=None,
            )
        for step in self.steps.values():
            if step.next in self.branch_of:
                raise self.fail(self.branch_entry("'next'", step.next), step)
        for step, action in self.all_actions():
            if action.to in self.branch_of:
                raise self.fail(
                    self.branch_entry(f"thao tác '{action.name.value}'", action.to), step, action
                )

    def branch_entry(self, what: str, branch: str) -> str:
        parallel = self.branch_of[branch].id
        return (
            f"{what} dẫn thẳng vào '{branch}', một nhánh của bước song song '{parallel}'; "
            f"hãy dẫn tới '{parallel}'"
        )

    def check_open_actions(self) -> None:
        for step, action in self.all_actions():
            if action.to is None and step.id not in self.branch_of:
                raise self.fail(
                    f"thao tác '{action.name.value}' thiếu 'to' (chỉ thao tác trong nhánh "
                    "song song mới được bỏ 'to')",
                    step,
                    action,
                )

    def check_choices(self) -> None:
        for step, action in self.all_actions():
            self.check_choice(step, action)
        for step in self.steps.values():
            target = self.steps.get(step.next) if step.next else None
            if target is not None and _wants_chosen(target):
                raise self.fail(
                    f"'next' dẫn tới bước '{target.id}' dùng 'person: chosen', nhưng chỉ một "
                    "thao tác có 'choose' mới chọn được người",
                    step,
                )

    def check_choice(self, step: Step, action: Action) -> None:
        target = self.steps[action.to] if action.to else None
        name = action.name.value
        if action.choose is not None and (target is None or not _wants_chosen(target)):
            where = f"bước '{target.id}'" if target else "nhánh song song (không có bước sau)"
            raise self.fail(
                f"thao tác '{name}' có 'choose' nhưng {where} không dùng 'person: chosen'",
                step,
                action,
            )
        if target is None or not _wants_chosen(target):
            return
        assert target.actor is not None
        if action.choose is None:
            raise self.fail(
                f"bước '{target.id}' dùng 'person: chosen' nhưng thao tác '{name}' dẫn tới đó "
                f"không chọn người (thêm 'choose: {target.actor.role.value}')",
                step,
                action,
            )
        if action.choose is not target.actor.role:
            raise self.fail(
                f"thao tác '{name}' chọn người có vai trò '{action.choose.value}' nhưng bước "
                f"'{target.id}' do vai trò '{target.actor.role.value}' xử lý",
                step,
                action,
            )

    def successors(self, step: Step) -> list[str]:
        """Where an instance may go from ``step``: a parallel step into its branches and on."""
        found = [action.to for action in step.actions if action.to]
        found += [*step.branches, *([step.next] if step.next else [])]
        return found

    def check_reachable(self) -> None:
        reached = {self.definition.start}
        pending = [self.definition.start]
        while pending:
            for target in self.successors(self.steps[pending.pop()]):
                if target not in reached:
                    reached.add(target)
                    pending.append(target)
        for step in self.steps.values():
            if step.id not in reached:
                raise self.fail(
                    f"không đi tới được bước này từ bước bắt đầu '{self.definition.start}'", step
                )

    def check_finishes(self) -> None:
        """Every step must lead to an end; a branch leads where its parallel step goes next."""
        finishing = {step.id for step in self.steps.values() if step.kind is StepKind.END}
        growing = True
        while growing:
            growing = False
            for step in self.steps.values():
                onward = [t for t in self.successors(step) if t not in step.branches]
                if step.id in self.branch_of:
                    onward += [t for t in [self.branch_of[step.id].next] if t]
                if step.id not in finishing and any(t in finishing for t in onward):
                    finishing.add(step.id)
                    growing = True
        start = self.steps[self.definition.start]
        if start.id not in finishing:
            raise self.fail(
                "không có bước kết thúc (kind: end) nào đi tới được từ bước bắt đầu", start
            )
        for step in self.steps.values():
            if step.id not in finishing:
                raise self.fail(
                    "từ bước này không đi tới được bước kết thúc (kind: end): văn bản sẽ bị kẹt",
                    step,
                )


def _wants_chosen(step: Step) -> bool:
    return step.actor is not None and step.actor.person is PersonRule.CHOSEN
