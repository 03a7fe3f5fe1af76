"""Per-account indices from Discord identifiers to live tasks (DESIGN invariant 3).

Keys are tried strongest first: nonce → interaction id → message id → interacted/referenced message →
job hash → normalised prompt. The prompt is the last resort and only ever matches when exactly one live
task could be meant; ambiguity leaves the message unmatched (and logged) rather than guessing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from ..domain.prompt import normalize_prompt
from ..domain.task import Task, TaskAction, TaskStatus
from ..midjourney.events import JobKind, MessageKeys

_FINISHED_MEMORY = 20_000
BUTTON_INDEX_KEY = "_buttonIndex"

# Which task actions a message of a given kind can belong to (a reroll's result reads like an imagine).
_KIND_ACTIONS: dict[JobKind, frozenset[TaskAction]] = {
    JobKind.IMAGINE: frozenset({TaskAction.IMAGINE, TaskAction.REROLL, TaskAction.BLEND}),
    JobKind.VARIATION: frozenset({TaskAction.VARIATION}),
    JobKind.UPSCALE: frozenset({TaskAction.UPSCALE}),
    JobKind.ZOOM: frozenset({TaskAction.ZOOM}),
    JobKind.PAN: frozenset({TaskAction.PAN}),
    JobKind.DESCRIBE: frozenset({TaskAction.DESCRIBE}),
    JobKind.SHORTEN: frozenset({TaskAction.SHORTEN}),
}


def _compatible(task: Task, kind: JobKind | None, index: int | None) -> bool:
    actions = _KIND_ACTIONS.get(kind) if kind is not None else None
    if actions is not None and task.action not in actions:
        return False
    own_index = task.extra.get(BUTTON_INDEX_KEY)
    return index is None or own_index is None or own_index == index


@dataclass(frozen=True, slots=True)
class Match:
    task_id: str
    key: str  # which key matched: "nonce", "interaction", "message", "reference", "hash", "prompt"


class _Bounded(OrderedDict[str, str]):
    def remember(self, key: str, value: str) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _FINISHED_MEMORY:
            self.popitem(last=False)


class Correlator:
    def __init__(self) -> None:
        self._nonce: dict[str, str] = {}
        self._interaction: dict[str, str] = {}
        self._message: dict[str, str] = {}
        self._hash: dict[str, str] = {}
        self._prompt_key: dict[str, str] = {}  # task id → normalised prompt
        self._keys_of: dict[str, list[tuple[dict[str, str], str]]] = {}  # task id → its index entries
        self._children: dict[str, set[str]] = {}  # parent message id → button tasks clicked on it
        # identifiers of tasks that already ended: their later messages (button restyles, replays)
        # must be recognised and ignored, never handed to another task by the prompt fallback.
        self._finished = _Bounded()

    # -- binding -----------------------------------------------------------------------------
    def _bind(self, index: dict[str, str], key: str, task_id: str) -> None:
        index[key] = task_id
        self._keys_of.setdefault(task_id, []).append((index, key))

    def bind_nonce(self, nonce: str, task_id: str) -> None:
        self._bind(self._nonce, nonce, task_id)

    def bind_interaction(self, interaction_id: str, task_id: str) -> None:
        self._bind(self._interaction, interaction_id, task_id)

    def bind_message(self, message_id: str, task_id: str) -> None:
        self._bind(self._message, message_id, task_id)

    def bind_hash(self, job_hash: str, task_id: str) -> None:
        self._bind(self._hash, job_hash, task_id)

    def bind_parent_message(self, parent_message_id: str, task_id: str) -> None:
        """A button task: its result replies to (or names) the message whose button was clicked."""
        self._children.setdefault(parent_message_id, set()).add(task_id)

    def track(self, task: Task) -> None:
        """Index everything already known about a task (also used after a restart)."""
        self._prompt_key[task.id] = normalize_prompt(task.prompt_en or task.prompt)
        if task.nonce:
            self.bind_nonce(task.nonce, task.id)
        if task.interaction_id:
            self.bind_interaction(task.interaction_id, task.id)
        if task.progress_message_id:
            self.bind_message(task.progress_message_id, task.id)
        if task.message_hash:
            self.bind_hash(task.message_hash, task.id)
        if task.referenced_message_id:
            self.bind_parent_message(task.referenced_message_id, task.id)

    def forget(self, task: Task) -> None:
        for index, key in self._keys_of.pop(task.id, []):
            if index.get(key) == task.id:
                del index[key]
            self._finished.remember(key, task.id)
        for known in (task.message_id, task.message_hash, task.progress_message_id):
            if known:
                self._finished.remember(known, task.id)
        self._prompt_key.pop(task.id, None)
        if task.referenced_message_id and task.referenced_message_id in self._children:
            children = self._children[task.referenced_message_id]
            children.discard(task.id)
            if not children:
                del self._children[task.referenced_message_id]

    def forget_nonce(self, nonce: str) -> None:
        self._nonce.pop(nonce, None)

    # -- matching ----------------------------------------------------------------------------
    def prompt_key(self, task_id: str) -> str | None:
        return self._prompt_key.get(task_id)

    def match_nonce(self, nonce: str) -> str | None:
        return self._nonce.get(nonce)

    def belongs_to_finished(self, keys: MessageKeys) -> bool:
        return any(k is not None and k in self._finished
                   for k in (keys.nonce, keys.interaction_id, keys.message_id, keys.job_hash))

    def match(self, keys: MessageKeys, live: Iterable[Task], *, kind: JobKind | None = None,
              index: int | None = None, allow_prompt: bool = True, unconfirmed: bool = False) -> Match | None:
        """``unconfirmed``: the prompt fallback may also pick a NOT_START task that holds a nonce (sent, but
        its 204 was never recorded); only for messages read back from the channel history."""
        if keys.nonce and keys.nonce in self._nonce:
            return Match(self._nonce[keys.nonce], "nonce")
        for interaction in (keys.interaction_id, keys.triggering_interaction_id):
            if interaction and interaction in self._interaction:
                return Match(self._interaction[interaction], "interaction")
        if keys.message_id in self._message:
            return Match(self._message[keys.message_id], "message")
        live = list(live)
        for parent in (keys.referenced_message_id, keys.interacted_message_id):
            if not parent:
                continue
            if parent in self._message:  # a reply to a job's own progress message (notices, errors)
                return Match(self._message[parent], "reply")
            children = self._children.get(parent)
            if children:
                # "Image #2" replying to the grid, or a result replying to the upscale it came from;
                # only when exactly one running child of that message fits the kind and index.
                fitting = [t for t in live if t.id in children and _compatible(t, kind, index)
                           and (t.message_hash is None or t.message_hash == keys.job_hash)]
                if len(fitting) == 1:
                    return Match(fitting[0].id, "reference")
        if keys.job_hash and keys.job_hash in self._hash:
            return Match(self._hash[keys.job_hash], "hash")
        if self.belongs_to_finished(keys):
            return None
        if not allow_prompt or keys.prompt is None or (keys.nonce and keys.nonce not in self._nonce):
            # A nonce we never sent belongs to someone else's interaction: never guess for it.
            return None
        wanted = normalize_prompt(keys.prompt)
        candidates = [
            t for t in live
            if (t.status in (TaskStatus.SUBMITTED, TaskStatus.IN_PROGRESS)
                or (unconfirmed and t.status == TaskStatus.NOT_START and t.nonce is not None))
            and self._prompt_key.get(t.id) == wanted
            and (t.message_hash is None or t.message_hash == keys.job_hash)
            and _compatible(t, kind, index)
        ]
        if len(candidates) == 1:
            return Match(candidates[0].id, "prompt")
        return None
