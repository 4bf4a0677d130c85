"""Workflow definitions: YAML files in workflows/ read into frozen values, checked at load time.

Definitions are data an administrator edits, so every mistake is refused when the file is read,
never halfway through a document's life, and the refusal names the file, the line and the step.
Unknown keys are errors: a misspelt ``deadline_day`` silently ignored is a deadline nobody keeps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError

from engine.core.errors import DefinitionError

CODE = "workflow.definition"
"""The prefix of every definition mistake's code: ``workflow.definition.unknown_key``."""


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
    REJECT = "reject"


class PersonRule(StrEnum):
    INITIATOR = "initiator"
    CHOSEN = "chosen"


UNIT_INITIATOR = "initiator"
"""As an actor's unit: the unit of the user who started the instance."""

DOCUMENT_KINDS = ("outgoing", "incoming", "procedure", "disposal")
"""What a definition may handle: outgoing, incoming documents, administrative procedures,
proposals to dispose of expired archive records."""

MAX_DEADLINE_DAYS = 1000
"""Four years of working days: more is a typing mistake, and a date past the calendar's end."""

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
    report: str | None = None
    """YAML ``report: "03"``: the edXML status the action reports to the document's sender
    (QCVN 102: 02 rejected, 03 registered, 04 assigned, 05 in process, 06 completed), for a
    document that arrived by the exchange."""


REPORTED_STATUSES = ("02", "03", "04", "05", "06")
"""The edXML statuses a workflow action may report back to the sending agency."""


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
    on_failure: str | None = None
    """Automated steps: the human step the document returns to when this step fails and will not
    be retried by itself (the clerk's issue step, when the seal cannot be made)."""
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
    text: str = field(default="", repr=False)
    """The file's YAML as read, kept by its digest when an instance starts on it."""

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
        raise DefinitionError(
            str(directory),
            "không có thư mục định nghĩa quy trình này",
            "no such folder of workflow definitions",
            code=f"{CODE}.folder_missing",
        )
    found: dict[str, WorkflowDefinition] = {}
    for path in sorted(directory.glob("*.yaml")):
        definition = load_definition(path, automated_steps=automated_steps)
        if definition.name in found:
            other = found[definition.name].source
            raise DefinitionError(
                str(path),
                f"tên quy trình '{definition.name}' trùng với {other}",
                f"the workflow name '{definition.name}' is already used by {other}",
                code=f"{CODE}.duplicate_name",
            )
        found[definition.name] = definition
    return found


def load_definition(path: Path, *, automated_steps: Collection[str]) -> WorkflowDefinition:
    """Read and check one file; DefinitionError names the first mistake found."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(
            str(path),
            f"không đọc được tệp: {exc.strerror}",
            f"cannot read the file: {exc.strerror}",
            code=f"{CODE}.unreadable",
        ) from exc
    return parse_definition(data, str(path), automated_steps=automated_steps)


def parse_definition(
    data: bytes, source: str, *, automated_steps: Collection[str]
) -> WorkflowDefinition:
    """Check the YAML ``data`` of a definition read from ``source`` (a file, or a version kept
    in the database); DefinitionError names the first mistake found."""
    raw, text = _parse(source, data)
    reader = _Reader(source, automated_steps)
    top = reader.mapping(
        raw,
        ("tệp định nghĩa (cần các khóa name, title, version...)", "the definition file (it needs "
         "the keys name, title, version...)"),
        line=1,
    )  # fmt: skip
    reader.keys(
        top, {"name", "title", "version", "document", "start", "steps"}, set(), ("tệp", "file")
    )
    definition = WorkflowDefinition(
        name=reader.identifier(top, "name", None),
        title=reader.text(top, "title", None),
        version=reader.positive_int(top, "version", None),
        document=reader.one_of(top, "document", DOCUMENT_KINDS, None, code="unknown_document"),
        start=reader.text(top, "start", None),
        steps=MappingProxyType(reader.steps(top)),
        source=source,
        digest=hashlib.sha256(data).hexdigest(),
        text=text,
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


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that keeps line numbers and refuses a key written twice in one mapping
    (libyaml's parser when PyYAML has it: several times faster at start-up)."""


class _KeyMistake(ConstructorError):
    """A key the loader refuses itself, with the English problem and the code."""

    def __init__(self, problem: str, problem_en: str, code: str, mark: yaml.Mark) -> None:
        super().__init__(None, None, problem, mark)
        self.problem_en = problem_en
        self.code = code


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line, result.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise _KeyMistake(
                f"khóa {key!r} phải là chữ",
                f"the key {key!r} must be text",
                f"{CODE}.key_not_text",
                key_node.start_mark,
            )
        if key in result:
            first = result.key_lines[key]
            raise _KeyMistake(
                f"khóa '{key}' viết hai lần (lần đầu ở dòng {first})",
                f"the key '{key}' is written twice (first on line {first})",
                f"{CODE}.duplicate_key",
                key_node.start_mark,
            )
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


def _parse(path: str, data: bytes) -> tuple[Any, str]:
    """The YAML content of ``data`` read from ``path``, and its text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            str(path),
            "tệp không phải văn bản UTF-8",
            "the file is not UTF-8 text",
            code=f"{CODE}.not_utf8",
        ) from exc
    try:
        return yaml.load(text, Loader=_Loader), text
    except _KeyMistake as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DefinitionError(
            path, str(exc.problem), exc.problem_en, line=line, code=exc.code
        ) from exc
    except ConstructorError as exc:  # YAML that builds no plain value, such as an unknown tag
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DefinitionError(
            str(path),
            f"YAML không dùng được: {exc.problem}",
            f"unsupported YAML: {exc.problem}",
            line=line,
            code=f"{CODE}.yaml_unsupported",
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DefinitionError(
            str(path),
            f"lỗi cú pháp YAML: {exc.problem}",
            f"YAML syntax error: {exc.problem}",
            line=line,
            code=f"{CODE}.yaml_syntax",
        ) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(
            str(path),
            f"lỗi cú pháp YAML: {exc}",
            f"YAML syntax error: {exc}",
            code=f"{CODE}.yaml_syntax",
        ) from exc


_E = TypeVar("_E", bound=StrEnum)

Words = tuple[str, str]
"""What a message names, in Vietnamese and in English: ``("mỗi bước", "each step")``."""

_STEP_KEYS: dict[StepKind, tuple[set[str], set[str]]] = {
    StepKind.HUMAN: ({"id", "title", "kind", "actor", "actions"}, {"deadline_days"}),
    StepKind.AUTOMATED: ({"id", "title", "kind", "run", "next"}, {"on_failure"}),
    StepKind.PARALLEL: ({"id", "title", "kind", "branches", "next"}, {"join"}),
    StepKind.END: ({"id", "title", "kind"}, set()),
}

_UNKNOWN: dict[type[StrEnum], str] = {
    StepKind: "unknown_step_kind",
    Role: "unknown_role",
    ActionName: "unknown_action",
    PersonRule: "unknown_person_rule",
}
"""The code (after ``workflow.definition.``) of a value outside an enumeration."""


class _Reader:
    """Turns the YAML of one file into values, raising DefinitionError at the first mistake."""

    def __init__(self, source: str, automated_steps: Collection[str]) -> None:
        self.source = source
        self.automated_steps = automated_steps

    def error(
        self, problem: str, problem_en: str, *, code: str, line: int | None, step: str | None
    ) -> DefinitionError:
        return DefinitionError(
            self.source, problem, problem_en, step=step, line=line, code=f"{CODE}.{code}"
        )

    def mapping(
        self, value: Any, what: Words, *, line: int | None, step: str | None = None
    ) -> _Map:
        if not isinstance(value, _Map):
            raise self.error(
                f"{what[0]} phải là một ánh xạ 'khóa: giá trị'",
                f"{what[1]} must be a mapping of 'key: value'",
                code="not_mapping",
                line=line,
                step=step,
            )
        return value

    def keys(
        self,
        node: _Map,
        required: set[str],
        optional: set[str],
        what: Words,
        step: str | None = None,
    ) -> None:
        unknown = sorted(set(node) - required - optional, key=lambda k: (node.line_of(k), k))
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.error(
                f"{what[0]}: khóa không hợp lệ '{unknown[0]}' (được phép: {allowed})",
                f"{what[1]}: unknown key '{unknown[0]}' (allowed: {allowed})",
                code="unknown_key",
                line=node.line_of(unknown[0]),
                step=step,
            )
        missing = sorted(required - set(node))
        if missing:
            raise self.error(
                f"{what[0]}: thiếu khóa '{missing[0]}'",
                f"{what[1]}: the key '{missing[0]}' is missing",
                code="missing_key",
                line=node.line,
                step=step,
            )

    def text(self, node: _Map, key: str, step: str | None) -> str:
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(
                f"'{key}' phải là chữ, không để trống (đang là {value!r})",
                f"'{key}' must be text, not empty (it is {value!r})",
                code="not_text",
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
                f"'{key}: {value}' may hold only lower-case ASCII letters, digits and '_', "
                "starting with a letter",
                code="not_identifier",
                line=node.line_of(key),
                step=step,
            )
        return value

    def positive_int(self, node: _Map, key: str, step: str | None) -> int:
        value = node[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.error(
                f"'{key}' phải là số nguyên dương (đang là {value!r})",
                f"'{key}' must be a positive whole number (it is {value!r})",
                code="not_positive_int",
                line=node.line_of(key),
                step=step,
            )
        return value

    def one_of(
        self, node: _Map, key: str, allowed: Collection[str], step: str | None, *, code: str
    ) -> str:
        value = node[key]
        if value not in allowed:
            raise self.error(
                f"{key} '{value}' không hợp lệ (được phép: {', '.join(allowed)})",
                f"{key} '{value}' is not valid (allowed: {', '.join(allowed)})",
                code=code,
                line=node.line_of(key),
                step=step,
            )
        return str(value)

    def choice(self, enum: type[_E], node: _Map, key: str, step: str | None) -> _E:
        allowed = [member.value for member in enum]
        value = self.one_of(node, key, allowed, step, code=_UNKNOWN[enum])
        return enum(value)

    def sequence(self, node: _Map, key: str, what: Words, step: str | None) -> _Seq:
        value = node[key]
        if not isinstance(value, _Seq) or not value:
            raise self.error(
                f"'{key}' phải là danh sách {what[0]}, ít nhất một mục",
                f"'{key}' must be a list of {what[1]}, at least one",
                code="empty_list",
                line=node.line_of(key),
                step=step,
            )
        return value

    def steps(self, top: _Map) -> dict[str, Step]:
        steps: dict[str, Step] = {}
        items = self.sequence(top, "steps", ("các bước", "steps"), None)
        for raw in items:
            step = self.step(self.mapping(raw, ("mỗi bước", "each step"), line=items.line))
            if step.id in steps:
                first = steps[step.id].line
                raise self.error(
                    f"mã bước bị trùng (đã dùng ở dòng {first})",
                    f"the step id is used twice (first on line {first})",
                    code="duplicate_step",
                    line=step.line,
                    step=step.id,
                )
            steps[step.id] = step
        return steps

    def step(self, node: _Map) -> Step:
        if "id" not in node:
            raise self.error(
                "bước thiếu khóa 'id'",
                "the step lacks the key 'id'",
                code="missing_key",
                line=node.line,
                step=None,
            )
        step_id = self.identifier(node, "id", None)
        if "kind" not in node:
            raise self.error(
                "bước thiếu khóa 'kind'",
                "the step lacks the key 'kind'",
                code="missing_key",
                line=node.line,
                step=step_id,
            )
        kind = self.choice(StepKind, node, "kind", step_id)
        required, optional = _STEP_KEYS[kind]
        what = (f"bước loại {kind.value}", f"{kind.value} step")
        self.keys(node, required, optional, what, step_id)
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
            if deadline > MAX_DEADLINE_DAYS:
                raise self.error(
                    f"'deadline_days: {deadline}' quá lớn: hạn xử lý tối đa {MAX_DEADLINE_DAYS} "
                    "ngày làm việc",
                    f"'deadline_days: {deadline}' is too large: a deadline is at most "
                    f"{MAX_DEADLINE_DAYS} working days",
                    code="deadline_too_large",
                    line=node.line_of("deadline_days"),
                    step=step.id,
                )
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
                f"there is no automated step '{run}' (there are: {known})",
                code="unknown_run",
                line=node.line_of("run"),
                step=step.id,
            )
        next_step = self.text(node, "next", step.id)
        on_failure = None
        if node.get("on_failure") is not None:
            on_failure = self.identifier(node, "on_failure", step.id)
        return Step(
            step.id,
            step.title,
            step.kind,
            run=run,
            next=next_step,
            on_failure=on_failure,
            line=step.line,
        )

    def parallel(self, node: _Map, step: Step) -> Step:
        items = self.sequence(node, "branches", ("mã các bước nhánh", "branch step ids"), step.id)
        branches = tuple(self.branch(item, node, step.id) for item in items)
        join = "all"
        if "join" in node:
            join = self.one_of(node, "join", JOINS, step.id, code="unknown_join")
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
                f"each branch in 'branches' must be a step id (it is {item!r})",
                code="invalid_branch",
                line=node.line_of("branches"),
                step=step_id,
            )
        return item.strip()

    def actor(self, node: _Map, step_id: str) -> Actor:
        actor = self.mapping(
            node["actor"], ("'actor'", "'actor'"), line=node.line_of("actor"), step=step_id
        )
        self.keys(actor, {"role"}, {"unit", "person"}, ("actor", "actor"), step_id)
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
        items = self.sequence(node, "actions", ("thao tác", "actions"), step_id)
        actions: dict[ActionName, Action] = {}
        for raw in items:
            item = self.mapping(raw, ("mỗi thao tác", "each action"), line=items.line, step=step_id)
            action = self.action(item, step_id)
            if action.name in actions:
                first = actions[action.name].line
                raise self.error(
                    f"thao tác '{action.name.value}' viết hai lần (lần đầu ở dòng {first})",
                    f"the action '{action.name.value}' is written twice (first on line {first})",
                    code="duplicate_action",
                    line=action.line,
                    step=step_id,
                )
            actions[action.name] = action
        return tuple(actions.values())

    def action(self, node: _Map, step_id: str) -> Action:
        self.keys(
            node, {"name"}, {"to", "comment", "choose", "report"}, ("thao tác", "action"), step_id
        )
        name = self.choice(ActionName, node, "name", step_id)
        comment = "optional"
        if "comment" in node:
            comment = self.one_of(
                node, "comment", ("required", "optional"), step_id, code="invalid_comment"
            )
        return Action(
            name=name,
            to=self.text(node, "to", step_id) if node.get("to") is not None else None,
            comment_required=comment == "required",
            choose=self.choice(Role, node, "choose", step_id) if "choose" in node else None,
            line=node.line,
            report=(
                self.one_of(node, "report", REPORTED_STATUSES, step_id, code="unknown_report")
                if "report" in node
                else None
            ),
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
        self.check_failure_returns()
        self.check_branch_entries()
        self.check_open_actions()
        self.check_choices()
        self.check_reachable()
        self.check_finishes()

    def fail(
        self, problem: Words, code: str, step: Step, action: Action | None = None
    ) -> DefinitionError:
        line = action.line if action else step.line
        return self.reader.error(*problem, code=code, line=line, step=step.id)

    def all_actions(self) -> Iterator[tuple[Step, Action]]:
        for step in self.steps.values():
            for action in step.actions:
                yield step, action

    def check_start(self) -> None:
        start = self.definition.start
        if start not in self.steps:
            raise self.reader.error(
                f"bước bắt đầu '{start}' không có trong 'steps'",
                f"the start step '{start}' is not in 'steps'",
                code="unknown_start",
                line=self.start_line,
                step=None,
            )
        actor = self.steps[start].actor
        if actor is not None and actor.person is PersonRule.CHOSEN:
            raise self.fail(
                (
                    "bước bắt đầu không thể dùng 'person: chosen': chưa có thao tác nào chọn người",
                    "the start step cannot use 'person: chosen': no action has chosen anyone yet",
                ),
                "start_chosen",
                self.steps[start],
            )

    def check_targets(self) -> None:
        for step in self.steps.values():
            if step.next is not None and step.next not in self.steps:
                raise self.fail(
                    (
                        f"'next' dẫn tới bước không có: '{step.next}'",
                        f"'next' leads to a step that does not exist: '{step.next}'",
                    ),
                    "unknown_step",
                    step,
                )
        for step, action in self.all_actions():
            if action.to is not None and action.to not in self.steps:
                name = action.name.value
                raise self.fail(
                    (
                        f"thao tác '{name}' dẫn tới bước không có: '{action.to}'",
                        f"the action '{name}' leads to a step that does not exist: '{action.to}'",
                    ),
                    "unknown_step",
                    step,
                    action,
                )

    def check_failure_returns(self) -> None:
        """``on_failure`` leads back to a person: a human step outside any parallel branch,
        whose actor needs no person chosen by an action (nobody chooses when a step fails)."""
        for step in self.steps.values():
            if step.on_failure is None:
                continue
            target = self.steps.get(step.on_failure)
            if target is None:
                raise self.fail(
                    (
                        f"'on_failure' dẫn tới bước không có: '{step.on_failure}'",
                        f"'on_failure' leads to a step that does not exist: '{step.on_failure}'",
                    ),
                    "unknown_step",
                    step,
                )
            if target.kind is not StepKind.HUMAN:
                raise self.fail(
                    (
                        f"'on_failure' phải trả về một bước loại human; '{target.id}' là bước "
                        f"loại {target.kind.value}",
                        f"'on_failure' must lead back to a human step; '{target.id}' is a "
                        f"{target.kind.value} step",
                    ),
                    "on_failure_not_human",
                    step,
                )
            if _wants_chosen(target):
                raise self.fail(
                    (
                        f"'on_failure' không thể trả về bước '{target.id}' dùng 'person: chosen': "
                        "khi bước lỗi không ai chọn người",
                        f"'on_failure' cannot lead back to the step '{target.id}', which uses "
                        "'person: chosen': nobody chooses a person when a step fails",
                    ),
                    "on_failure_chosen",
                    step,
                )

    def check_parallel_steps(self) -> None:
        for step in self.steps.values():
            for branch in step.branches:
                self.check_branch(step, branch)
                self.branch_of[branch] = step

    def check_branch(self, parallel: Step, branch: str) -> None:
        target = self.steps.get(branch)
        if target is None:
            raise self.fail(
                (
                    f"nhánh '{branch}' không có: nhánh phải là bước loại human",
                    f"the branch '{branch}' does not exist: a branch must be a human step",
                ),
                "unknown_step",
                parallel,
            )
        if target.kind is not StepKind.HUMAN:
            kind = target.kind.value
            raise self.fail(
                (
                    f"nhánh '{branch}' là bước loại {kind}: nhánh phải là bước loại human",
                    f"the branch '{branch}' is a {kind} step: a branch must be a human step",
                ),
                "branch_not_human",
                parallel,
            )
        if branch in self.branch_of:
            other = self.branch_of[branch].id
            raise self.fail(
                (
                    f"bước '{branch}' đã là nhánh của bước song song '{other}'",
                    f"the step '{branch}' is already a branch of the parallel step '{other}'",
                ),
                "branch_shared",
                parallel,
            )
        for action in target.actions:
            if action.to is not None:
                name = action.name.value
                raise self.fail(
                    (
                        f"thao tác '{name}' trong nhánh song song '{parallel.id}' không được "
                        "có 'to': làm xong là xong nhánh, sau đó quy trình đi tiếp theo 'next' "
                        f"của '{parallel.id}'",
                        f"the action '{name}' in a branch of the parallel step '{parallel.id}' "
                        "may not have 'to': doing it finishes the branch, then the workflow "
                        f"goes on by the 'next' of '{parallel.id}'",
                    ),
                    "branch_action_target",
                    target,
                    action,
                )
        if target.actor is not None and target.actor.person is PersonRule.CHOSEN:
            raise self.fail(
                (
                    f"nhánh song song không thể dùng 'person: chosen': bước '{parallel.id}' "
                    "không chọn người",
                    f"a parallel branch cannot use 'person: chosen': the step '{parallel.id}' "
                    "chooses nobody",
                ),
                "branch_chosen",
                target,
            )

    def check_branch_entries(self) -> None:
        start = self.definition.start
        if start in self.branch_of:
            parallel = self.branch_of[start].id
            raise self.reader.error(
                f"bước bắt đầu '{start}' là nhánh của bước song song '{parallel}'; chỉ vào được "
                "nhánh qua bước đó",
                f"the start step '{start}' is a branch of the parallel step '{parallel}'; a "
                "branch is entered only through that step",
                code="start_in_branch",
                line=self.start_line,
                step=None,
            )
        for step in self.steps.values():
            if step.next in self.branch_of:
                raise self.fail(
                    self.branch_entry(("'next'", "'next'"), step.next), "into_branch", step
                )
            if step.on_failure in self.branch_of:
                what = ("'on_failure'", "'on_failure'")
                raise self.fail(self.branch_entry(what, step.on_failure), "into_branch", step)
        for step, action in self.all_actions():
            if action.to in self.branch_of:
                name = action.name.value
                what = (f"thao tác '{name}'", f"the action '{name}'")
                raise self.fail(self.branch_entry(what, action.to), "into_branch", step, action)

    def branch_entry(self, what: Words, branch: str) -> Words:
        parallel = self.branch_of[branch].id
        return (
            f"{what[0]} dẫn thẳng vào '{branch}', một nhánh của bước song song '{parallel}'; "
            f"hãy dẫn tới '{parallel}'",
            f"{what[1]} leads straight into '{branch}', a branch of the parallel step "
            f"'{parallel}'; lead to '{parallel}' instead",
        )

    def check_open_actions(self) -> None:
        for step, action in self.all_actions():
            if action.to is None and step.id not in self.branch_of:
                name = action.name.value
                raise self.fail(
                    (
                        f"thao tác '{name}' thiếu 'to' (chỉ thao tác trong nhánh song song mới "
                        "được bỏ 'to')",
                        f"the action '{name}' lacks 'to' (only actions in a parallel branch may "
                        "leave it out)",
                    ),
                    "missing_target",
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
                    (
                        f"'next' dẫn tới bước '{target.id}' dùng 'person: chosen', nhưng chỉ một "
                        "thao tác có 'choose' mới chọn được người",
                        f"'next' leads to the step '{target.id}', which uses 'person: chosen', "
                        "but only an action with 'choose' can choose a person",
                    ),
                    "choose_missing",
                    step,
                )

    def check_choice(self, step: Step, action: Action) -> None:
        target = self.steps[action.to] if action.to else None
        name = action.name.value
        if action.choose is not None and (target is None or not _wants_chosen(target)):
            where = (
                (f"bước '{target.id}'", f"the step '{target.id}' does")
                if target
                else (
                    "nhánh song song (không có bước sau)",
                    "a parallel branch (no next step) does",
                )
            )
            raise self.fail(
                (
                    f"thao tác '{name}' có 'choose' nhưng {where[0]} không dùng 'person: chosen'",
                    f"the action '{name}' has 'choose' but {where[1]} not use 'person: chosen'",
                ),
                "choose_unused",
                step,
                action,
            )
        if target is None or not _wants_chosen(target):
            return
        assert target.actor is not None
        role = target.actor.role.value
        if action.choose is None:
            raise self.fail(
                (
                    f"bước '{target.id}' dùng 'person: chosen' nhưng thao tác '{name}' dẫn tới đó "
                    f"không chọn người (thêm 'choose: {role}')",
                    f"the step '{target.id}' uses 'person: chosen' but the action '{name}' that "
                    f"leads there chooses nobody (add 'choose: {role}')",
                ),
                "choose_missing",
                step,
                action,
            )
        if action.choose is not target.actor.role:
            chosen = action.choose.value
            raise self.fail(
                (
                    f"thao tác '{name}' chọn người có vai trò '{chosen}' nhưng bước "
                    f"'{target.id}' do vai trò '{role}' xử lý",
                    f"the action '{name}' chooses a person of the role '{chosen}' but the step "
                    f"'{target.id}' is handled by the role '{role}'",
                ),
                "choose_role_mismatch",
                step,
                action,
            )

    def successors(self, step: Step) -> list[str]:
        """Where an instance may go from ``step``: a parallel step into its branches and on."""
        found = [action.to for action in step.actions if action.to]
        found += [*step.branches, *([step.next] if step.next else [])]
        return found

    def check_reachable(self) -> None:
        start = self.definition.start
        reached = {start}
        pending = [start]
        while pending:
            for target in self.successors(self.steps[pending.pop()]):
                if target not in reached:
                    reached.add(target)
                    pending.append(target)
        for step in self.steps.values():
            if step.id not in reached:
                raise self.fail(
                    (
                        f"không đi tới được bước này từ bước bắt đầu '{start}'",
                        f"this step cannot be reached from the start step '{start}'",
                    ),
                    "unreachable_step",
                    step,
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
                (
                    "không có bước kết thúc (kind: end) nào đi tới được từ bước bắt đầu",
                    "no end step (kind: end) can be reached from the start step",
                ),
                "no_end",
                start,
            )
        for step in self.steps.values():
            if step.id not in finishing:
                raise self.fail(
                    (
                        "từ bước này không đi tới được bước kết thúc (kind: end): văn bản sẽ bị "
                        "kẹt",
                        "no end step (kind: end) can be reached from this step: documents would "
                        "be stuck",
                    ),
                    "dead_end",
                    step,
                )


def _wants_chosen(step: Step) -> bool:
    return step.actor is not None and step.actor.person is PersonRule.CHOSEN


@dataclass(frozen=True)
class DefinitionFile:
    """One file of a definitions folder as read now: its definition, or the first mistake."""

    path: str
    definition: WorkflowDefinition | None
    error: DefinitionError | None


def review_definitions(
    directory: Path, *, automated_steps: Collection[str]
) -> list[DefinitionFile]:
    """Every ``*.yaml`` in ``directory`` read on its own, so one wrong file does not hide the
    others: each with its definition or its error (file, line, step); a name used twice is the
    second file's error. A missing folder is one entry with its error."""
    if not directory.is_dir():
        return [
            DefinitionFile(
                str(directory),
                None,
                DefinitionError(
                    str(directory),
                    "không có thư mục định nghĩa quy trình này",
                    "no such folder of workflow definitions",
                    code=f"{CODE}.folder_missing",
                ),
            )
        ]
    found: list[DefinitionFile] = []
    names: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            definition = load_definition(path, automated_steps=automated_steps)
        except DefinitionError as exc:
            found.append(DefinitionFile(str(path), None, exc))
            continue
        if definition.name in names:
            other = names[definition.name]
            error = DefinitionError(
                str(path),
                f"tên quy trình '{definition.name}' trùng với {other}",
                f"the workflow name '{definition.name}' is already used by {other}",
                code=f"{CODE}.duplicate_name",
            )
            found.append(DefinitionFile(str(path), None, error))
            continue
        names[definition.name] = str(path)
        found.append(DefinitionFile(str(path), definition, None))
    return found
