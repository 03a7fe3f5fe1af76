"""Which account takes new work: the filter chain and the selection rules. Pure: no I/O, no asyncio.

The scheduler describes each account as a :class:`Candidate` and the request as :class:`Criteria`;
:meth:`Selector.choose` returns the account and the speed mode the job must run in, or says why nothing
fits. Every exclusion has a reason in words (landscape R22: "no account" without a hint is the most
common support question of midjourney-proxy operators).

Filters, in the order their reasons are reported (an account is described by the first one it fails):

1. account id (a pin from ``accountFilter.instanceId``/``channelId`` or a follow-up's parent). Checked
   first, although midjourney-proxy checks it after health: a pin makes every other account
   irrelevant, and "alice is not the requested account" is more useful than alice's health;
2. enabled, and a state that accepts work (``FAST_EXHAUSTED`` accepts relax work only, see 4);
3. bot type (a hook: every account serves Midjourney and Niji today);
4. speed mode: the first requested mode the account allows (``definition.modes``) and can run — fast
   and turbo need fast hours left;
5. remark (case-insensitive substring);
6. remix (``remix_auto_considered``: an account that auto-submits the remix modal counts as remix-off);
7. daily job limit;
8. capacity: a free running slot or room in the waiting queue. Accounts that pass 1–7 but are all full
   raise :class:`AllFull` (code 23, "try later"), not :class:`NoMatch` (code 3, "nothing can serve you").

The hot path runs one cheap pass over the candidates that formats nothing; the reasons are built only
when nothing survives. No rule sorts: round-robin and fill find the next or first id in one pass, so
one choice among 500 accounts stays well under a millisecond (``bench/selection_latency.py``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..domain.account import AccountDefinition, AccountState, SelectionRule, SpeedMode
from ..domain.task import BotType

__all__ = ["AllFull", "Candidate", "Choice", "Criteria", "NoMatch", "Selector", "resolve_modes"]


@dataclass(frozen=True, slots=True)
class Criteria:
    """What a request demands of the account that will run it."""

    account_id: str | None = None  # accountFilter.instanceId / channelId, or the parent's account for follow-ups
    bot_type: BotType = BotType.MID_JOURNEY
    modes: tuple[SpeedMode, ...] = ()  # acceptable speed modes in order of preference; () = any
    remark: str | None = None  # substring of the account's remark
    remix: bool | None = None  # require accounts whose remix mode equals this
    remix_auto_considered: bool = False  # accounts with remix_auto_submit count as remix-off


@dataclass(frozen=True, slots=True)
class Candidate:
    """What selection needs to know of one account (built by the scheduler from its AccountQueue)."""

    account_id: str
    name: str
    state: AccountState
    definition: AccountDefinition
    remix: bool
    fast_exhausted: bool
    running: int
    waiting: int
    jobs_today: int


@dataclass(frozen=True, slots=True)
class Choice:
    account_id: str
    mode: SpeedMode | None  # the mode the job must run in; None = whatever the account is set to


class NoMatch(Exception):
    """No account can serve the request (code 3). ``reasons``: account name → why it was excluded."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__(_sentence(reasons))


class AllFull(Exception):
    """Accounts match, but every one of them has its slots and its queue full (code 23)."""

    def __init__(self, account_ids: Sequence[str]) -> None:
        self.account_ids = tuple(account_ids)
        super().__init__(f"the queues of all {len(self.account_ids)} matching accounts are full, try again later")


def resolve_modes(path_mode: SpeedMode | None, prompt_mode: SpeedMode | None,
                  filter_modes: Sequence[SpeedMode]) -> tuple[SpeedMode, ...]:
    """The acceptable modes of a request, by midjourney-proxy-plus precedence.

    The ``/mj-fast|relax|turbo`` path prefix wins, then ``--fast/--relax/--turbo`` in the prompt, then
    ``accountFilter.modes`` (kept in order, duplicates dropped); nothing → ``()`` = any mode.
    """
    if path_mode is not None:
        return (path_mode,)
    if prompt_mode is not None:
        return (prompt_mode,)
    return tuple(dict.fromkeys(filter_modes))


# -- the filter chain ------------------------------------------------------------------------------
class _Why(Enum):
    """Why an account was excluded; turned into words only when a NoMatch is raised."""

    NOT_PINNED = 1
    DISABLED = 2
    UNHEALTHY = 3
    BOT_TYPE = 4
    MODE = 5
    REMARK = 6
    REMIX = 7
    DAILY_LIMIT = 8
    FULL = 9


_ALL_MODES = frozenset(SpeedMode)
_WORKING_STATES = frozenset(s for s in AccountState if s.accepts_work)
_NO_MODE: tuple[bool, SpeedMode | None] = (False, None)
_ACCOUNT_MODE: tuple[bool, SpeedMode | None] = (True, None)
_MODE_RESULT = {m: (True, m) for m in SpeedMode}  # prebuilt: the hot path allocates no tuples


def _can_fast(c: Candidate) -> bool:
    return not c.fast_exhausted and c.state is not AccountState.FAST_EXHAUSTED


def _pick_mode(c: Candidate, wanted: tuple[SpeedMode, ...]) -> tuple[bool, SpeedMode | None]:
    """(whether the account can serve ``wanted``, the mode to force on the job or None for its own)."""
    allowed = c.definition.modes or _ALL_MODES  # an empty list means the operator restricted nothing
    can_fast = _can_fast(c)
    if not wanted:
        # Any mode will do. An account that allows everything and has fast hours runs in its own mode;
        # otherwise force its first allowed mode it can still run, in the operator's declared order —
        # a fast-exhausted account must not receive work that would run (and fail) in fast.
        if can_fast and len(allowed) >= len(_ALL_MODES):
            return _ACCOUNT_MODE
        wanted = tuple(allowed)
    for mode in wanted:
        if mode in allowed and (can_fast or mode is SpeedMode.RELAX):
            return _MODE_RESULT[mode]
    return _NO_MODE


def _bot_type_ok(c: Candidate, bot_type: BotType) -> bool:
    # Hook: Niji and InsightFace need nothing of the account today (every account can reach every bot
    # in its channel). Per-account toggles (midjourney-proxy-plus "MJ/Niji enabled") would go here.
    return True


def _has_room(c: Candidate) -> bool:
    return c.running < c.definition.core_size or c.waiting < c.definition.queue_size


def _reject(c: Candidate, cr: Criteria, remark: str | None) -> _Why | None:
    """The first filter (1–7) the account fails, or None. ``remark`` is the criterion, casefolded once."""
    if cr.account_id is not None and c.account_id != cr.account_id:
        return _Why.NOT_PINNED
    if not c.definition.enabled or c.state is AccountState.DISABLED:
        return _Why.DISABLED
    if c.state not in _WORKING_STATES and c.state is not AccountState.FAST_EXHAUSTED:
        return _Why.UNHEALTHY
    if not _bot_type_ok(c, cr.bot_type):
        return _Why.BOT_TYPE
    if not _pick_mode(c, cr.modes)[0]:
        return _Why.MODE
    if remark is not None and remark not in c.definition.remark.casefold():
        return _Why.REMARK
    if cr.remix is not None:
        effective = c.remix and not (cr.remix_auto_considered and c.definition.remix_auto_submit)
        if effective is not cr.remix:
            return _Why.REMIX
    limit = c.definition.daily_limit
    if limit > 0 and c.jobs_today >= limit:
        return _Why.DAILY_LIMIT
    return None


def _modes_text(modes: Sequence[SpeedMode]) -> str:
    return " or ".join(m.value for m in modes)


def _describe(why: _Why, c: Candidate, cr: Criteria) -> str:
    d = c.definition
    if why is _Why.DISABLED:
        return "disabled"
    if why is _Why.UNHEALTHY:
        return c.state.value  # the admin API shows the state's full reason; the name is enough here
    if why is _Why.BOT_TYPE:
        return f"cannot run {cr.bot_type.value}"
    if why is _Why.MODE:
        allowed = list(d.modes or _ALL_MODES)
        wanted = list(cr.modes) or allowed
        if not any(m in allowed for m in wanted):
            return f"does not allow {_modes_text(wanted)} mode (allows {', '.join(m.value for m in allowed)})"
        if SpeedMode.RELAX in allowed:
            return f"fast hours are exhausted, so it takes relax work only (asked for {_modes_text(wanted)})"
        return "fast hours are exhausted and relax mode is not allowed"
    if why is _Why.REMARK:
        return f"remark {d.remark!r} does not contain {cr.remark!r}"
    if why is _Why.REMIX:
        if c.remix and d.remix_auto_submit and cr.remix_auto_considered:
            return "remix auto-submit counts as remix off, remix on was asked for"
        return f"remix is {'on' if c.remix else 'off'}, remix {'on' if cr.remix else 'off'} was asked for"
    if why is _Why.DAILY_LIMIT:
        return f"daily limit reached ({c.jobs_today} of {d.daily_limit} jobs today)"
    return f"queue full ({c.running} running, {c.waiting} waiting)"


def _sentence(reasons: dict[str, str]) -> str:
    """One readable sentence: accounts grouped by reason, long groups shortened."""
    if not reasons:
        return "no account is configured"
    groups: dict[str, list[str]] = {}
    for name, why in reasons.items():
        groups.setdefault(why, []).append(name)
    parts = []
    for why, names in groups.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(f"{shown} ({why})")
    return "no account can take this task: " + "; ".join(parts)


def _id_before(a: str, b: str) -> bool:
    """Stable account order: channel ids are snowflakes, so shorter is smaller; then lexical."""
    return len(a) < len(b) or (len(a) == len(b) and a < b)


# -- the rules -------------------------------------------------------------------------------------
class Selector:
    """Applies the filter chain, then one selection rule among the accounts that are left.

    Stateful only for round-robin (the id it chose last). Not thread-safe; the scheduler calls it from
    the event loop.

    Weighted random: an account with weight ≤ 0 is a *standby* — never chosen while an account with a
    positive weight qualifies, chosen (uniformly among the standbys) when only standbys do. Operators
    then park an account with weight 0 without losing it as a last resort; disabling it excludes it.
    """

    def __init__(self, rule: SelectionRule = SelectionRule.BEST_WAIT_IDLE, rng: random.Random | None = None) -> None:
        self.rule = rule
        self._rng = rng or random.Random()
        self._last_round_robin: str | None = None

    def choose(self, candidates: Sequence[Candidate], criteria: Criteria) -> Choice:
        pool = candidates
        if criteria.account_id is not None:  # a pin leaves one account to look at
            pool = [c for c in candidates if c.account_id == criteria.account_id]
        remark = criteria.remark.casefold() if criteria.remark else None
        # The filter chain of _reject, inlined: a function call per account would double the time of a
        # choice among hundreds. tests/engine/test_selection.py checks the two agree on random pools.
        wanted = criteria.modes
        want_remix = criteria.remix
        auto_off = criteria.remix_auto_considered
        bot_type = criteria.bot_type
        working = _WORKING_STATES
        survivors: list[Candidate] = []
        matched_but_full: list[str] = []
        for c in pool:
            d = c.definition
            if not d.enabled:
                continue
            state = c.state
            if state in working:
                can_fast = not c.fast_exhausted
            elif state is AccountState.FAST_EXHAUSTED:
                can_fast = False
            else:
                continue
            if not _bot_type_ok(c, bot_type):
                continue
            # A healthy account asked for no mode in particular always has a runnable mode.
            if (wanted or not can_fast) and not _pick_mode(c, wanted)[0]:
                continue
            if remark is not None and remark not in d.remark.casefold():
                continue
            if want_remix is not None and (c.remix and not (auto_off and d.remix_auto_submit)) is not want_remix:
                continue
            if 0 < d.daily_limit <= c.jobs_today:
                continue
            if c.running < d.core_size or c.waiting < d.queue_size:
                survivors.append(c)
            else:
                matched_but_full.append(c.account_id)
        if not survivors:
            if matched_but_full:
                raise AllFull(matched_but_full)
            raise NoMatch(self.explain(candidates, criteria))
        chosen = survivors[0] if len(survivors) == 1 else self._apply_rule(survivors)
        if self.rule is SelectionRule.ROUND_ROBIN:
            self._last_round_robin = chosen.account_id
        return Choice(chosen.account_id, _pick_mode(chosen, criteria.modes)[1])

    def explain(self, candidates: Sequence[Candidate], criteria: Criteria) -> dict[str, str]:
        """Why each account would be excluded (accounts that could take the task are left out).

        With a pin, only the pinned account is explained: that every other account is "not the requested
        one" says nothing. Also meant for an admin endpoint ("why is my account never used?").
        """
        if criteria.account_id is not None and not any(c.account_id == criteria.account_id for c in candidates):
            return {criteria.account_id: "no account with this instance/channel id"}
        remark = criteria.remark.casefold() if criteria.remark else None
        reasons: dict[str, str] = {}
        for c in candidates:
            why = _reject(c, criteria, remark)
            if why is None and not _has_room(c):
                why = _Why.FULL
            if why is None or why is _Why.NOT_PINNED:
                continue
            key = c.name or c.account_id
            if key in reasons:  # two accounts with the same name: tell them apart
                key = f"{key} ({c.account_id})"
            reasons[key] = _describe(why, c, criteria)
        return reasons

    def _apply_rule(self, survivors: list[Candidate]) -> Candidate:
        rule = self.rule
        if rule is SelectionRule.BEST_WAIT_IDLE:
            return self._best_wait_idle(survivors)
        if rule is SelectionRule.ROUND_ROBIN:
            return self._round_robin(survivors)
        if rule is SelectionRule.WEIGHTED_RANDOM:
            return self._weighted_random(survivors)
        return self._fill(survivors)

    def _best_wait_idle(self, survivors: list[Candidate]) -> Candidate:
        # midjourney-proxy's BestWaitIdleRule: wait = (waiting + running) − core size, floored at −1, so
        # every account with a free slot ties at −1 and the tie is broken at random (spreads the load).
        best = 1 << 62
        group: list[Candidate] = []
        for c in survivors:
            wait = c.waiting + c.running - c.definition.core_size
            if wait < -1:
                wait = -1
            if wait < best:
                best, group = wait, [c]
            elif wait == best:
                group.append(c)
        return group[0] if len(group) == 1 else self._rng.choice(group)

    def _round_robin(self, survivors: list[Candidate]) -> Candidate:
        # The smallest id after the one chosen last, wrapping around. A position counter (counter % size,
        # as midjourney-proxy does) skips or repeats accounts whenever the set of survivors changes with
        # the filters or health; "next id after the last" stays fair and needs no sorting. Ids compare
        # as in _id_before, inlined (one pass over hundreds of accounts).
        last = self._last_round_robin or ""
        last_len = len(last) if self._last_round_robin is not None else -1
        first = after = survivors[0]
        first_id, first_len = first.account_id, len(first.account_id)
        after_id, after_len = "", -1  # -1: nothing found after the last yet
        for c in survivors:
            cid = c.account_id
            n = len(cid)
            if n < first_len or (n == first_len and cid < first_id):
                first, first_id, first_len = c, cid, n
            if (n > last_len or (n == last_len and cid > last)) and (
                    after_len < 0 or n < after_len or (n == after_len and cid < after_id)):
                after, after_id, after_len = c, cid, n
        return after if after_len >= 0 else first

    def _weighted_random(self, survivors: list[Candidate]) -> Candidate:
        total = 0
        for c in survivors:
            if c.definition.weight > 0:
                total += c.definition.weight
        if total == 0:  # only standbys qualify
            return self._rng.choice(survivors)
        point = self._rng.random() * total
        for c in survivors:
            weight = c.definition.weight
            if weight > 0:
                point -= weight
                if point < 0:
                    return c
        # Floating-point rounding can leave point at 0: the last positive-weight account takes it.
        return next(c for c in reversed(survivors) if c.definition.weight > 0)

    def _fill(self, survivors: list[Candidate]) -> Candidate:
        # Fill one account before the next: the first account (by id) with a free running slot; when
        # every slot is taken, the account with the most room left in its queue (first by id on a tie).
        slot: Candidate | None = None
        roomiest: Candidate = survivors[0]
        most_room = roomiest.definition.queue_size - roomiest.waiting
        for c in survivors:
            if c.running < c.definition.core_size:
                if slot is None or _id_before(c.account_id, slot.account_id):
                    slot = c
            elif slot is None:
                room = c.definition.queue_size - c.waiting
                if room > most_room or (room == most_room and _id_before(c.account_id, roomiest.account_id)):
                    roomiest, most_room = c, room
        return slot if slot is not None else roomiest
