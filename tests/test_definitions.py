"""Workflow definitions: the shipped ones load; each mistake is named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.definitions import ActionName, PersonRule, StepKind, load_definition, load_definitions
from engine.errors import DefinitionError
from engine.steps import STEP_FUNCTIONS
from workflows import DEFINITIONS_DIR

STEPS = STEP_FUNCTIONS.keys()


def test_the_shipped_definitions_load() -> None:
    found = load_definitions(DEFINITIONS_DIR, automated_steps=STEPS)
    outgoing, incoming = found["outgoing"], found["incoming"]
    assert outgoing.start == "draft" and outgoing.step("consultation").kind is StepKind.PARALLEL
    assert outgoing.step("review").action("return").comment_required
    assert incoming.step("handle").actor.person is PersonRule.CHOSEN  # type: ignore[union-attr]
    assert incoming.step("assign").action("assign").name is ActionName.ASSIGN


MINIMAL = """\
name: t
title: Thử
version: 1
document: outgoing
start: a
steps:
  - id: a
    title: A
    kind: human
    actor: {role: specialist}
    actions:
      - {name: submit, to: b}
  - {id: b, title: B, kind: automated, run: archive_document, next: c}
  - {id: c, title: C, kind: end}
"""


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    load_definition(path, automated_steps=STEPS)


def test_the_minimal_definition_is_valid(tmp_path: Path) -> None:
    _load(tmp_path, MINIMAL)


@pytest.mark.parametrize(
    ("change", "line", "step", "problem"),
    [
        (("to: b}", "to: x}"), 12, "a", "bước không có: 'x'"),
        (("role: specialist", "role: boss"), 10, "a", "role 'boss'"),
        (("name: submit", "name: publish"), 12, "a", "thao tác 'publish'"),
        (("run: archive_document", "run: print_money"), 13, "b", "print_money"),
        (("kind: end}", "kind: end, next: a}"), 14, "c", "khóa không hợp lệ ['next']"),
        (("    actor: {role: specialist}\n", ""), 7, "a", "thiếu khóa ['actor']"),
        (("start: a", "start: z"), None, None, "bước bắt đầu 'z'"),
        (("id: c, title: C", "id: a, title: C"), 14, "a", "trùng"),
        (("title: A\n", "title: A\n    deadline_days: 0\n"), 7, "a", "deadline_days"),
        (("version: 1", "version: one"), 1, None, "version"),
        (("steps:", "stepz:"), 1, None, "khóa không hợp lệ ['stepz']"),
        (("next: c}", "next: a}"), None, "c", "không thể đi tới"),
    ],
)
def test_each_mistake_is_named(
    tmp_path: Path, change: tuple[str, str], line: int | None, step: str | None, problem: str
) -> None:
    assert change[0] in MINIMAL
    with pytest.raises(DefinitionError) as caught:
        _load(tmp_path, MINIMAL.replace(change[0], change[1], 1))
    message = str(caught.value)
    assert "broken.yaml" in message and problem in message, message
    if line is not None:
        assert f"broken.yaml:{line}" in message, message
    if step is not None:
        assert f"step '{step}'" in message, message


def test_a_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"broken\.yaml:3: lỗi cú pháp"):
        _load(tmp_path, "name: t\ntitle: x\n  bad: [\n")


def _outgoing() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((DEFINITIONS_DIR / "outgoing.yaml").read_text(encoding="utf-8"))


def _load_dict(tmp_path: Path, data: dict) -> None:  # type: ignore[type-arg]
    _load(tmp_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_parallel_branches_must_be_human_steps_without_targets(tmp_path: Path) -> None:
    data = _outgoing()
    legal = next(s for s in data["steps"] if s["id"] == "consult_legal")
    legal["actions"][0]["to"] = "review"
    with pytest.raises(DefinitionError, match="nhánh song song"):
        _load_dict(tmp_path, data)
    data = _outgoing()
    consultation = next(s for s in data["steps"] if s["id"] == "consultation")
    consultation["branches"] = ["consult_legal", "number"]
    with pytest.raises(DefinitionError, match="nhánh 'number'"):
        _load_dict(tmp_path, data)


def test_an_action_outside_a_branch_needs_a_target(tmp_path: Path) -> None:
    data = _outgoing()
    del next(s for s in data["steps"] if s["id"] == "draft")["actions"][0]["to"]
    with pytest.raises(DefinitionError, match="thiếu 'to'"):
        _load_dict(tmp_path, data)


def test_a_chosen_person_must_be_chosen_by_the_action_before(tmp_path: Path) -> None:
    data = yaml.safe_load((DEFINITIONS_DIR / "incoming.yaml").read_text(encoding="utf-8"))
    del next(s for s in data["steps"] if s["id"] == "assign")["actions"][0]["choose"]
    with pytest.raises(DefinitionError, match="cần người được chọn"):
        _load_dict(tmp_path, data)


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(DefinitionError, match="trùng"):
        load_definitions(tmp_path, automated_steps=STEPS)
