"""Documents moving through their workflow: instances and tasks, the person's actions and inbox,
the outbox of automated steps, a document's files and its view for people."""

from engine.workflow import outbox
from engine.workflow.actions import act, after_action
from engine.workflow.documents import DocumentView, document_view, file_content
from engine.workflow.files import Upload
from engine.workflow.inbox import InboxEntry, inbox
from engine.workflow.outbox import StepRun, run_pending
from engine.workflow.runtime import Move

__all__ = [
    "DocumentView",
    "InboxEntry",
    "Move",
    "StepRun",
    "Upload",
    "act",
    "after_action",
    "document_view",
    "file_content",
    "inbox",
    "outbox",
    "run_pending",
]
