"""Workflow definitions: the shipped ones load; each mistake is refused naming file, line, step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.automation import PLUGINS
from engine.core.definitions import (
    ActionName,
    PersonRule,
    Role,
    StepKind,
    load_definition,
    load_definitions,
    parse_definition,
)
from engine.core.errors import DefinitionError
from vanthu.errors import Kind
from workflows import DEFINITIONS_DIR

STEPS = frozenset(PLUGINS.steps)

# Every kind of step and rule once: a parallel consultation, a person chosen by the action before.
BASE = """\
name: t
title: Thử
version: 1
document: outgoing
start: draft
steps:
  - id: draft
    title: Soạn
    kind: human
    actor: {role: specialist, person: initiator}
    deadline_days: 2
    actions:
      - {name: submit, to: review}
  - id: review
    title: Xem xét
    kind: human
    actor: {role: head, unit: initiator}
    actions:
      - {name: return, to: draft, comment: required}
      - {name: consult, to: consultation}
      - {name: forward, to: handle, choose: specialist}
  - id: consultation
    title: Góp ý
    kind: parallel
    branches: [legal, office]
    next: review
  - id: legal
    title: Pháp chế
    kind: human
    actor: {role: head, unit: PC}
    actions:
      - {name: comment, comment: required}
  - id: office
    title: Văn phòng
    kind: human
    actor: {role: head, unit: VP}
    actions:
      - {name: comment}
  - id: handle
    title: Xử lý
    kind: human
    actor: {role: specialist, person: chosen}
    actions:
      - {name: complete, to: archive}
  - {id: archive, title: Lưu, kind: automated, run: archive_document, next: done}
  - {id: done, title: Xong, kind: end}
"""


def _write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(tmp_path: Path, text: str) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_definition(_write(tmp_path, text), automated_steps=STEPS)
    return caught.value


def _line_of(text: str, marker: str) -> int:
    """The last line holding ``marker`` (an edit adds the second of two alike)."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert found, f"marker {marker!r} not in the edited text"
    return found[-1]


def test_the_base_definition_is_valid(tmp_path: Path) -> None:
    definition = load_definition(_write(tmp_path, BASE), automated_steps=STEPS)
    assert list(definition.steps)[:2] == ["draft", "review"]
    assert definition.step("review").line == 14
    assert definition.step("review").action("consult").line == 20
    assert definition.step("consultation").join == "all"
    assert definition.parallel_of("office") == definition.step("consultation")
    assert definition.parallel_of("review") is None
    assert definition.step("office").action("comment").to is None
    assert not definition.step("office").action("comment").comment_required


FORWARD = "      - {name: forward, to: handle, choose: specialist}\n"
TRAP = (  # a step whose only action leads back to itself
    "  - id: trap\n    title: Vòng lặp\n    kind: human\n    actor: {role: head}\n"
    "    actions:\n      - {name: comment, to: trap}\n"
)

# (old, new): one edit of BASE; marker: text on the line the error must name; step: the step it
# must name (None: no step); code: the error's code after "workflow.definition.".
MISTAKES = [
    pytest.param("title: Thử\n", "title: Thử\nowner: VP\n", "owner: VP", None, "unknown_key",
                 id="unknown top-level key"),
    pytest.param("version: 1\n", "", "name: t", None, "missing_key", id="missing top-level key"),
    pytest.param("version: 1", "version: one", "version: one", None, "not_positive_int",
                 id="version not a number"),
    pytest.param("document: outgoing", "document: memo", "document: memo", None,
                 "unknown_document", id="unknown document kind"),
    pytest.param("name: t", "name: Văn bản", "name: Văn bản", None, "not_identifier",
                 id="name not a code"),
    pytest.param("title: Soạn\n", "title: Soạn\n    colour: red\n", "colour: red", "draft",
                 "unknown_key", id="unknown step key"),
    pytest.param("    title: Soạn\n", "", "id: draft", "draft", "missing_key",
                 id="missing step key"),
    pytest.param("title: Soạn\n", "title: Soạn\n    title: Khác\n", "title: Khác", None,
                 "duplicate_key", id="key written twice"),
    pytest.param("id: draft", "id: Draft", "id: Draft", None, "not_identifier",
                 id="step id not a code"),
    pytest.param("person: initiator}", "person: initiator, rank: 1}", "rank: 1", "draft",
                 "unknown_key", id="unknown actor key"),
    pytest.param("to: review}", "to: review, when: now}", "when: now", "draft", "unknown_key",
                 id="unknown action key"),
    pytest.param("kind: parallel", "kind: fork", "kind: fork", "consultation",
                 "unknown_step_kind", id="unknown step kind"),
    pytest.param("role: head, unit: initiator", "role: boss, unit: initiator", "role: boss",
                 "review", "unknown_role", id="unknown role"),
    pytest.param("name: submit", "name: publish", "name: publish", "draft", "unknown_action",
                 id="unknown action"),
    pytest.param("person: initiator", "person: anyone", "person: anyone", "draft",
                 "unknown_person_rule", id="unknown person rule"),
    pytest.param("choose: specialist", "choose: minister", "choose: minister", "review",
                 "unknown_role", id="unknown role to choose"),
    pytest.param("{name: comment}", "{name: comment, comment: maybe}", "comment: maybe",
                 "office", "invalid_comment", id="comment not required/optional"),
    pytest.param("id: office", "id: legal", "id: legal", "legal", "duplicate_step",
                 id="duplicate step id"),
    pytest.param("start: draft", "start: drafting", "start: drafting", None, "unknown_start",
                 id="start not a step"),
    pytest.param("to: archive}", "to: archives}", "to: archives}", "handle", "unknown_step",
                 id="action to an unknown step"),
    pytest.param("next: done}", "next: finished}", "id: archive", "archive", "unknown_step",
                 id="next to an unknown step"),
    pytest.param("    actor: {role: specialist, person: initiator}\n", "", "id: draft", "draft",
                 "missing_key", id="human step without actor"),
    pytest.param("    actions:\n      - {name: complete, to: archive}\n", "", "id: handle",
                 "handle", "missing_key", id="human step without actions"),
    pytest.param("    actions:\n      - {name: complete, to: archive}\n", "    actions: []\n",
                 "actions: []", "handle", "empty_list", id="empty actions"),
    pytest.param("run: archive_document, ", "", "id: archive", "archive", "missing_key",
                 id="automated step without run"),
    pytest.param(", next: done}", "}", "id: archive", "archive", "missing_key",
                 id="automated step without next"),
    pytest.param("next: done}", "next: done, actions: [{name: submit, to: done}]}",
                 "id: archive", "archive", "unknown_key", id="automated step with actions"),
    pytest.param("run: archive_document", "run: print_money", "run: print_money", "archive",
                 "unknown_run", id="run not an automated step"),
    pytest.param("branches: [legal, office]", "branches: []", "branches: []", "consultation",
                 "empty_list", id="parallel without branches"),
    pytest.param("    branches: [legal, office]\n", "", "id: consultation", "consultation",
                 "missing_key", id="parallel without a branches key"),
    pytest.param("[legal, office]", "[legal, archive]", "id: consultation", "consultation",
                 "branch_not_human", id="branch not a human step"),
    pytest.param("[legal, office]", "[legal, nowhere]", "id: consultation", "consultation",
                 "unknown_step", id="branch not a step"),
    pytest.param("[legal, office]", "[legal, {office: 1}]", "branches: [legal", "consultation",
                 "invalid_branch", id="branch not a step id"),
    pytest.param("next: review\n", "next: review\n    join: some\n", "join: some",
                 "consultation", "unknown_join", id="unknown join"),
    pytest.param("{name: comment, comment: required}",
                 "{name: comment, comment: required, to: review}", "to: review}", "legal",
                 "branch_action_target", id="branch action with a target"),
    pytest.param("{name: consult, to: consultation}", "{name: consult, to: legal}",
                 "to: legal}", "review", "into_branch", id="action straight into a branch"),
    pytest.param("next: review\n", "next: office\n", "id: consultation", "consultation",
                 "into_branch", id="next straight into a branch"),
    pytest.param("start: draft", "start: legal", "start: legal", None, "start_in_branch",
                 id="start at a branch"),
    pytest.param("{name: submit, to: review}", "{name: submit}", "{name: submit}", "draft",
                 "missing_target", id="no target outside a branch"),
    pytest.param("to: draft, comment: required}", "to: draft, comment: required, choose: head}",
                 "choose: head", "review", "choose_unused",
                 id="choose for a step without a chosen person"),
    pytest.param(", choose: specialist}", "}", "{name: forward", "review", "choose_missing",
                 id="chosen person never chosen"),
    pytest.param("choose: specialist", "choose: clerk", "choose: clerk", "review",
                 "choose_role_mismatch", id="choose a role the next step does not have"),
    pytest.param("next: review\n", "next: handle\n", "id: consultation", "consultation",
                 "choose_missing", id="chosen person after a step that cannot choose"),
    pytest.param("start: draft", "start: handle", "id: handle", "handle", "start_chosen",
                 id="start with a chosen person"),
    pytest.param("kind: end}", "kind: end, next: draft}", "id: done", "done", "unknown_key",
                 id="end step with next"),
    pytest.param("kind: end}", "kind: end, actions: [{name: submit, to: draft}]}", "id: done",
                 "done", "unknown_key", id="end step with actions"),
    pytest.param("kind: end}\n", "kind: end}\n  - {id: orphan, title: Mồ côi, kind: end}\n",
                 "id: orphan", "orphan", "unreachable_step", id="unreachable step"),
    pytest.param("next: done}\n  - {id: done, title: Xong, kind: end}\n", "next: draft}\n",
                 "id: draft", "draft", "no_end", id="no end step reachable"),
    pytest.param(FORWARD, FORWARD + "      - {name: approve, to: trap}\n" + TRAP, "id: trap",
                 "trap", "dead_end", id="step that never reaches the end"),
    pytest.param("deadline_days: 2", "deadline_days: 0", "deadline_days: 0", "draft",
                 "not_positive_int", id="deadline zero"),
    pytest.param("deadline_days: 2", "deadline_days: 99999999999", "deadline_days: 9999", "draft",
                 "deadline_too_large", id="deadline past the calendar"),
    pytest.param("next: done}", "next: done, on_failure: nowhere}", "id: archive", "archive",
                 "unknown_step", id="on_failure to an unknown step"),
    pytest.param("next: done}", "next: done, on_failure: consultation}", "id: archive",
                 "archive", "on_failure_not_human", id="on_failure to a parallel step"),
    pytest.param("next: done}", "next: done, on_failure: legal}", "id: archive", "archive",
                 "into_branch", id="on_failure into a branch"),
    pytest.param("next: done}", "next: done, on_failure: handle}", "id: archive", "archive",
                 "on_failure_chosen", id="on_failure to a step needing a chosen person"),
    pytest.param("kind: human\n    actor: {role: head, unit: PC}", "kind: human\n    "
                 "on_failure: review\n    actor: {role: head, unit: PC}", "on_failure: review",
                 "legal", "unknown_key", id="on_failure on a human step"),
    pytest.param("deadline_days: 2", "deadline_days: 1.5", "deadline_days: 1.5", "draft",
                 "not_positive_int", id="deadline not whole"),
    pytest.param("deadline_days: 2", "deadline_days: yes", "deadline_days: yes", "draft",
                 "not_positive_int", id="deadline a boolean"),
    pytest.param("{name: consult, to: consultation}", "{name: return, to: consultation}",
                 "{name: return, to: consultation}", "review", "duplicate_action",
                 id="duplicate action in a step"),
    pytest.param("  - {id: done, title: Xong, kind: end}", "  - done", "id: draft", None,
                 "not_mapping", id="a step that is not a mapping"),
    pytest.param("title: Xử lý", "title: ''", "title: ''", "handle", "not_text",
                 id="empty title"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "marker", "step", "code"), MISTAKES)
def test_each_mistake_is_refused_with_file_line_and_step(
    tmp_path: Path, old: str, new: str, marker: str, step: str | None, code: str
) -> None:
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    error = _refusal(tmp_path, text)
    assert error.code == f"workflow.definition.{code}", error
    assert (error.file, error.line) == (str(tmp_path / "broken.yaml"), _line_of(text, marker))
    assert error.definition_step == step
    assert error.kind is Kind.CONFIG


def test_a_refusal_is_located_in_both_languages(tmp_path: Path) -> None:
    text = BASE.replace("title: Soạn\n", "title: Soạn\n    colour: red\n", 1)
    error = _refusal(tmp_path, text)
    where = f"{tmp_path / 'broken.yaml'}:{_line_of(text, 'colour: red')}: "
    assert str(error).startswith(where + "bước 'draft': ")
    assert error.english.startswith(where + "step 'draft': ")
    assert error.message != error.message_en
    assert error.to_json()["file"] == str(tmp_path / "broken.yaml")


@pytest.mark.parametrize(
    ("text", "line", "code"),
    [
        ("name: t\ntitle: x\n  bad: [\n", 3, "yaml_syntax"),
        ("name: t\nsteps: [a, b\n", 3, "yaml_syntax"),
        ("- name: t\n- title: x\n", 1, "not_mapping"),
        ("", 1, "not_mapping"),
        ("name: t\n1: x\n", 2, "key_not_text"),
        ("name: t\ntitle: !!python/name:os.system x\n", 2, "yaml_unsupported"),
    ],
    ids=[
        "bad indentation",
        "unclosed list",
        "top level is a list",
        "empty file",
        "number key",
        "unsafe tag",
    ],
)
def test_a_file_that_is_not_a_definition_is_refused_with_its_line(
    tmp_path: Path, text: str, line: int, code: str
) -> None:
    error = _refusal(tmp_path, text)
    assert error.code == f"workflow.definition.{code}", error
    assert (error.file, error.line) == (str(tmp_path / "broken.yaml"), line)
    assert error.definition_step is None


def test_a_date_like_value_is_read_as_text(tmp_path: Path) -> None:
    text = BASE.replace("title: Thử", "title: 2026-13-01")
    assert load_definition(_write(tmp_path, text), automated_steps=STEPS).title == "2026-13-01"


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode("utf-8").replace("Thử".encode(), b"Th\xe9"))
    with pytest.raises(DefinitionError) as caught:
        load_definition(path, automated_steps=STEPS)
    assert caught.value.code == "workflow.definition.not_utf8"
    assert (caught.value.file, caught.value.line) == (str(path), None)


def test_a_branch_of_two_parallel_steps_is_refused(tmp_path: Path) -> None:
    text = BASE.replace(
        "      - {name: forward",
        "      - {name: approve, to: second}\n      - {name: forward",
    ) + ("  - {id: second, title: Góp ý lần 2, kind: parallel, branches: [legal], next: review}\n")
    error = _refusal(tmp_path, text)
    assert error.code == "workflow.definition.branch_shared", error
    assert (error.line, error.definition_step) == (_line_of(text, "id: second"), "second")


def test_a_definition_read_back_from_its_text_is_the_same_version(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE.replace("next: done}", "next: done, on_failure: review}"))
    read = load_definition(path, automated_steps=STEPS)
    assert read.step("archive").on_failure == "review"
    again = parse_definition(read.text.encode("utf-8"), "kept", automated_steps=STEPS)
    assert (again.digest, again.steps, again.source) == (read.digest, read.steps, "kept")


def test_the_shipped_definitions_load() -> None:
    found = load_definitions(DEFINITIONS_DIR, automated_steps=STEPS)
    assert set(found) == {"outgoing", "incoming", "disposal", "mot_cua"}
    outgoing, incoming = found["outgoing"], found["incoming"]
    assert (outgoing.title, outgoing.document, outgoing.start) == (
        "Văn bản đi",
        "outgoing",
        "draft",
    )
    assert outgoing.step("consultation").branches == ("consult_legal", "consult_office")
    assert outgoing.step("review").action("return").comment_required
    assert outgoing.step("consult_office").actor.unit == "VP"  # type: ignore[union-attr]
    assert [outgoing.step(s).run for s in ("convert", "number", "seal", "archive")] == [
        "convert_to_pdf",
        "assign_number",
        "apply_seal",
        "archive_document",
    ]
    assert outgoing.step("done").kind is StepKind.END
    # a seal that cannot be made hands the document back to the clerk, never to "done"
    assert [outgoing.step(s).on_failure for s in ("number", "seal", "archive")] == [
        "issue",
        "issue",
        None,
    ]
    assert incoming.step("verify").run == "verify_incoming"
    assert incoming.step("assign").action(ActionName.ASSIGN).choose is Role.HEAD
    assert incoming.step("handle").actor.person is PersonRule.CHOSEN  # type: ignore[union-attr]
    assert incoming.step("handle").action("forward").to == "handle_specialist"
    assert outgoing.source.endswith("outgoing.yaml") and len(outgoing.digest) == 64


def test_definitions_are_immutable_and_lookups_are_named() -> None:
    outgoing = load_definition(DEFINITIONS_DIR / "outgoing.yaml", automated_steps=STEPS)
    with pytest.raises(TypeError):
        outgoing.steps["extra"] = outgoing.step("draft")  # type: ignore[index]
    with pytest.raises(LookupError, match="không có bước 'publish'"):
        outgoing.step("publish")
    with pytest.raises(LookupError, match=r"không có thao tác 'sign' \(được phép: submit\)"):
        outgoing.step("draft").action("sign")
    assert {outgoing: 1}[outgoing] == 1


def _edited_outgoing(edit: Any) -> str:
    data = yaml.safe_load((DEFINITIONS_DIR / "outgoing.yaml").read_text(encoding="utf-8"))
    edit(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_a_second_review_step_can_be_added(tmp_path: Path) -> None:
    def add_office_review(data: dict[str, Any]) -> None:
        steps = data["steps"]
        review = next(s for s in steps if s["id"] == "review")
        next(a for a in review["actions"] if a["name"] == "approve")["to"] = "office_review"
        steps.insert(
            steps.index(review) + 1,
            {
                "id": "office_review",
                "title": "Chánh Văn phòng kiểm tra thể thức",
                "kind": "human",
                "actor": {"role": "head", "unit": "VP"},
                "deadline_days": 1,
                "actions": [
                    {"name": "return", "to": "draft", "comment": "required"},
                    {"name": "approve", "to": "convert"},
                ],
            },
        )
        data["version"] = 2

    path = _write(tmp_path, _edited_outgoing(add_office_review), "outgoing.yaml")
    edited = load_definition(path, automated_steps=STEPS)
    shipped = load_definition(DEFINITIONS_DIR / "outgoing.yaml", automated_steps=STEPS)
    assert edited.version == 2 and edited.digest != shipped.digest
    assert list(edited.steps)[1:3] == ["review", "office_review"]
    assert edited.step("review").action("approve").to == "office_review"
    assert edited.step("office_review").action("approve").to == "convert"
    assert edited.step("office_review").actor.unit == "VP"  # type: ignore[union-attr]


def test_the_shipped_incoming_flow_refuses_an_assignment_that_chooses_nobody(
    tmp_path: Path,
) -> None:
    def drop_choice(data: dict[str, Any]) -> None:
        assign = next(s for s in data["steps"] if s["id"] == "assign")
        del assign["actions"][0]["choose"]

    data = yaml.safe_load((DEFINITIONS_DIR / "incoming.yaml").read_text(encoding="utf-8"))
    drop_choice(data)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    error = _refusal(tmp_path, text)
    assert (error.code, error.definition_step) == ("workflow.definition.choose_missing", "assign")
    assert error.line == _line_of(text, "name: assign")


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, BASE, "a.yaml")
    _write(tmp_path, BASE, "b.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path, automated_steps=STEPS)
    assert caught.value.code == "workflow.definition.duplicate_name"
    assert caught.value.file == str(tmp_path / "b.yaml")


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path / "nowhere", automated_steps=STEPS)
    assert caught.value.code == "workflow.definition.folder_missing"
    assert caught.value.file == str(tmp_path / "nowhere")
