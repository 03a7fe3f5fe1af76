from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from mjproxy.domain.account import AccountDefinition, AccountState, SelectionRule, SpeedMode
from mjproxy.domain.task import BotType
from mjproxy.engine.selection import AllFull, Candidate, Choice, Criteria, NoMatch, Selector, resolve_modes

FAST, RELAX, TURBO = SpeedMode.FAST, SpeedMode.RELAX, SpeedMode.TURBO


def cand(account_id: str, *, name: str | None = None, state: AccountState = AccountState.READY,
         remix: bool = False, fast_exhausted: bool = False, running: int = 0, waiting: int = 0,
         jobs_today: int = 0, **definition: Any) -> Candidate:
    definition.setdefault("core_size", 3)
    definition.setdefault("queue_size", 10)
    d = AccountDefinition(channel_id=account_id, guild_id="g", user_token="t", name=name or account_id, **definition)
    return Candidate(account_id=account_id, name=d.name, state=state, definition=d, remix=remix,
                     fast_exhausted=fast_exhausted, running=running, waiting=waiting, jobs_today=jobs_today)


def choose(candidates: list[Candidate], rule: SelectionRule = SelectionRule.BEST_WAIT_IDLE, seed: int = 1,
           **criteria: Any) -> Choice:
    return Selector(rule, random.Random(seed)).choose(candidates, Criteria(**criteria))


def no_match(candidates: list[Candidate], **criteria: Any) -> NoMatch:
    with pytest.raises(NoMatch) as info:
        choose(candidates, **criteria)
    return info.value


# -- resolve_modes -------------------------------------------------------------------------------
def test_resolve_modes_path_prefix_wins_over_prompt_and_filter() -> None:
    assert resolve_modes(RELAX, FAST, [TURBO]) == (RELAX,)


def test_resolve_modes_prompt_flag_wins_over_filter() -> None:
    assert resolve_modes(None, TURBO, [RELAX, FAST]) == (TURBO,)


def test_resolve_modes_filter_modes_keep_order_without_duplicates() -> None:
    assert resolve_modes(None, None, [RELAX, FAST, RELAX]) == (RELAX, FAST)


def test_resolve_modes_nothing_means_any() -> None:
    assert resolve_modes(None, None, []) == ()


# -- filters ---------------------------------------------------------------------------------------
def test_disabled_definition_and_disabled_state_are_excluded() -> None:
    exc = no_match([cand("1", enabled=False), cand("2", state=AccountState.DISABLED)])
    assert exc.reasons == {"1": "disabled", "2": "disabled"}


@pytest.mark.parametrize("state", [AccountState.AUTH_FAILED, AccountState.CAPTCHA_REQUIRED,
                                   AccountState.PENDING_MOD_MESSAGE, AccountState.BLOCKED,
                                   AccountState.SUBSCRIPTION_REQUIRED, AccountState.COMMANDS_UNAVAILABLE,
                                   AccountState.STOPPED])
def test_states_that_need_a_human_are_excluded_with_the_state_as_reason(state: AccountState) -> None:
    exc = no_match([cand("1", state=state)])
    assert exc.reasons == {"1": state.value}


@pytest.mark.parametrize("state", [AccountState.READY, AccountState.CONNECTING, AccountState.DISCONNECTED])
def test_states_that_accept_work(state: AccountState) -> None:
    assert choose([cand("1", state=state)]) == Choice("1", None)


def test_pin_chooses_that_account_even_when_others_are_idler() -> None:
    accounts = [cand("1"), cand("2", running=3, waiting=5), cand("3")]
    assert choose(accounts, account_id="2").account_id == "2"


def test_pin_explains_only_the_pinned_account() -> None:
    exc = no_match([cand("1"), cand("2", state=AccountState.BLOCKED)], account_id="2")
    assert exc.reasons == {"2": "blocked"}
    assert str(exc) == "no account can take this task: 2 (blocked)"


def test_pin_to_an_unknown_account() -> None:
    exc = no_match([cand("1")], account_id="9")
    assert exc.reasons == {"9": "no account with this instance/channel id"}


def test_no_account_at_all() -> None:
    exc = no_match([])
    assert exc.reasons == {}
    assert str(exc) == "no account is configured"


def test_bot_types_need_nothing_special_today() -> None:
    for bot in BotType:
        assert choose([cand("1")], bot_type=bot).account_id == "1"


def test_first_requested_mode_the_account_allows() -> None:
    accounts = [cand("1", modes=[RELAX])]
    assert choose(accounts, modes=(FAST, RELAX)) == Choice("1", RELAX)
    assert choose([cand("1")], modes=(TURBO, FAST)) == Choice("1", TURBO)


def test_mode_not_allowed_reason() -> None:
    exc = no_match([cand("1", modes=[RELAX])], modes=(FAST, TURBO))
    assert exc.reasons == {"1": "does not allow fast or turbo mode (allows relax)"}


def test_fast_exhausted_takes_relax_work_only() -> None:
    for account in (cand("1", fast_exhausted=True), cand("1", state=AccountState.FAST_EXHAUSTED)):
        assert choose([account], modes=(FAST, RELAX)) == Choice("1", RELAX)
        assert choose([account], modes=(RELAX,)) == Choice("1", RELAX)
        exc = no_match([account], modes=(FAST, TURBO))
        assert exc.reasons == {"1": "fast hours are exhausted, so it takes relax work only (asked for fast or turbo)"}


def test_fast_exhausted_with_any_mode_is_forced_to_relax() -> None:
    # Unforced work would run in the account's own (fast) mode and fail with "Credits exhausted".
    assert choose([cand("1", fast_exhausted=True)]) == Choice("1", RELAX)


def test_fast_exhausted_without_relax_allowed() -> None:
    exc = no_match([cand("1", fast_exhausted=True, modes=[FAST, TURBO])])
    assert exc.reasons == {"1": "fast hours are exhausted and relax mode is not allowed"}


def test_any_mode_on_a_restricted_account_forces_its_first_allowed_mode() -> None:
    assert choose([cand("1", modes=[TURBO, RELAX])]) == Choice("1", TURBO)
    assert choose([cand("1", modes=[TURBO, RELAX], fast_exhausted=True)]) == Choice("1", RELAX)


def test_any_mode_on_an_unrestricted_account_keeps_its_own_mode() -> None:
    assert choose([cand("1")]) == Choice("1", None)
    assert choose([cand("1", modes=[])]) == Choice("1", None)  # an empty list restricts nothing


def test_modes_prefer_accounts_that_can_run_the_first_choice_only_by_filtering() -> None:
    # Each account gets its own first workable mode; the rule (not the mode) picks among them.
    accounts = [cand("1", modes=[RELAX]), cand("2", running=1)]
    choices = {choose(accounts, seed=s, modes=(FAST, RELAX)) for s in range(20)}
    assert choices == {Choice("1", RELAX), Choice("2", FAST)}


def test_remark_is_a_case_insensitive_substring() -> None:
    accounts = [cand("1", remark="Team Blue pro"), cand("2", remark="team red")]
    assert choose(accounts, remark="BLUE").account_id == "1"
    exc = no_match(accounts, remark="green")
    assert exc.reasons == {"1": "remark 'Team Blue pro' does not contain 'green'",
                           "2": "remark 'team red' does not contain 'green'"}


def test_remix_filter() -> None:
    accounts = [cand("on", remix=True), cand("off")]
    assert choose(accounts, remix=True).account_id == "on"
    assert choose(accounts, remix=False).account_id == "off"
    assert no_match([cand("off")], remix=True).reasons == {"off": "remix is off, remix on was asked for"}
    assert no_match([cand("on", remix=True)], remix=False).reasons == {"on": "remix is on, remix off was asked for"}


def test_remix_auto_submit_counts_as_off_only_when_considered() -> None:
    auto = cand("auto", remix=True, remix_auto_submit=True)
    assert no_match([auto], remix=False).reasons == {"auto": "remix is on, remix off was asked for"}
    assert choose([auto], remix=False, remix_auto_considered=True).account_id == "auto"
    assert no_match([auto], remix=True, remix_auto_considered=True).reasons == {
        "auto": "remix auto-submit counts as remix off, remix on was asked for"}
    assert choose([auto], remix=True).account_id == "auto"


def test_daily_limit() -> None:
    assert choose([cand("1", daily_limit=5, jobs_today=4)]).account_id == "1"
    assert no_match([cand("1", daily_limit=5, jobs_today=5)]).reasons == {
        "1": "daily limit reached (5 of 5 jobs today)"}
    assert choose([cand("1", daily_limit=0, jobs_today=10_000)]).account_id == "1"


def test_capacity_counts_slots_and_queue_room() -> None:
    assert choose([cand("1", running=3, waiting=9)]).account_id == "1"  # queue room
    assert choose([cand("1", running=2, waiting=10)]).account_id == "1"  # a free slot


def test_all_matching_accounts_full_is_all_full_not_no_match() -> None:
    accounts = [cand("1", running=3, waiting=10), cand("2", running=3, waiting=10), cand("3", enabled=False)]
    with pytest.raises(AllFull) as info:
        choose(accounts)
    assert info.value.account_ids == ("1", "2")


def test_full_accounts_are_explained_when_nothing_else_matches() -> None:
    selector = Selector()
    accounts = [cand("1", running=3, waiting=10), cand("2", enabled=False)]
    assert selector.explain(accounts, Criteria()) == {"1": "queue full (3 running, 10 waiting)", "2": "disabled"}


def test_first_failing_filter_is_the_reason() -> None:
    account = cand("1", enabled=False, modes=[RELAX], remark="x", daily_limit=1, jobs_today=1)
    assert no_match([account], modes=(FAST,), remark="y").reasons == {"1": "disabled"}
    account = cand("1", modes=[RELAX], remark="x", daily_limit=1, jobs_today=1)
    assert no_match([account], modes=(FAST,), remark="y").reasons["1"].startswith("does not allow")
    account = cand("1", remark="x", daily_limit=1, jobs_today=1)
    assert no_match([account], remark="y").reasons["1"].startswith("remark")


def test_sentence_groups_accounts_by_reason_and_shortens_long_groups() -> None:
    accounts = [cand(str(i), enabled=False) for i in range(1, 8)] + [cand("b", name="bob",
                                                                           state=AccountState.CAPTCHA_REQUIRED)]
    exc = no_match(accounts)
    assert str(exc) == ("no account can take this task: 1, 2, 3, 4, 5 and 2 more (disabled); "
                        "bob (captcha_required)")


def test_duplicate_names_are_told_apart() -> None:
    exc = no_match([cand("1", name="same", enabled=False), cand("2", name="same", enabled=False)])
    assert exc.reasons == {"same": "disabled", "same (2)": "disabled"}


# -- rules -----------------------------------------------------------------------------------------
def test_best_wait_idle_takes_the_least_waiting_group() -> None:
    accounts = [cand("1", running=3, waiting=2), cand("2", running=3, waiting=1), cand("3", running=3, waiting=4)]
    assert choose(accounts).account_id == "2"


def test_best_wait_idle_treats_every_account_with_a_free_slot_alike() -> None:
    # wait is floored at −1: an idle account and one with 2 of 3 slots busy tie, chosen at random.
    accounts = [cand("1"), cand("2", running=2), cand("3", running=3)]
    selector = Selector(SelectionRule.BEST_WAIT_IDLE, random.Random(7))
    counts = Counter(selector.choose(accounts, Criteria()).account_id for _ in range(2000))
    assert set(counts) == {"1", "2"}
    assert 850 < counts["1"] < 1150


def test_round_robin_cycles_in_id_order_with_snowflakes_in_numeric_order() -> None:
    accounts = [cand("100"), cand("9"), cand("20")]
    selector = Selector(SelectionRule.ROUND_ROBIN)
    picks = [selector.choose(accounts, Criteria()).account_id for _ in range(6)]
    assert picks == ["9", "20", "100", "9", "20", "100"]


def test_round_robin_stays_fair_when_the_set_changes() -> None:
    a, b, c, d = cand("1"), cand("2"), cand("3"), cand("4")
    selector = Selector(SelectionRule.ROUND_ROBIN)
    assert selector.choose([a, b, c, d], Criteria()).account_id == "1"
    assert selector.choose([a, b, c, d], Criteria()).account_id == "2"
    # "3" drops out: the next after "2" is "4", not a repeat of an earlier account.
    assert selector.choose([a, b, d], Criteria()).account_id == "4"
    assert selector.choose([a, b, c, d], Criteria()).account_id == "1"


def test_round_robin_skips_full_and_excluded_accounts() -> None:
    accounts = [cand("1"), cand("2", running=3, waiting=10), cand("3", enabled=False), cand("4")]
    selector = Selector(SelectionRule.ROUND_ROBIN)
    assert [selector.choose(accounts, Criteria()).account_id for _ in range(3)] == ["1", "4", "1"]


def test_weighted_random_follows_the_weights() -> None:
    accounts = [cand("1", weight=1), cand("2", weight=3), cand("3", weight=6)]
    selector = Selector(SelectionRule.WEIGHTED_RANDOM, random.Random(42))
    counts = Counter(selector.choose(accounts, Criteria()).account_id for _ in range(20_000))
    assert counts["1"] / 20_000 == pytest.approx(0.1, abs=0.015)
    assert counts["2"] / 20_000 == pytest.approx(0.3, abs=0.015)
    assert counts["3"] / 20_000 == pytest.approx(0.6, abs=0.015)


def test_weighted_random_standby_accounts_only_when_nothing_else_qualifies() -> None:
    selector = Selector(SelectionRule.WEIGHTED_RANDOM, random.Random(3))
    accounts = [cand("1", weight=1), cand("2", weight=0), cand("3", weight=-2)]
    assert {selector.choose(accounts, Criteria()).account_id for _ in range(500)} == {"1"}
    standbys = [cand("2", weight=0), cand("3", weight=-2), cand("1", weight=5, enabled=False)]
    counts = Counter(selector.choose(standbys, Criteria()).account_id for _ in range(1000))
    assert set(counts) == {"2", "3"} and 400 < counts["2"] < 600


def test_fill_fills_the_first_account_before_the_next() -> None:
    accounts = [cand("2"), cand("1", running=2), cand("3")]
    assert choose(accounts, SelectionRule.FILL).account_id == "1"
    accounts = [cand("2", running=1), cand("1", running=3), cand("3")]
    assert choose(accounts, SelectionRule.FILL).account_id == "2"


def test_fill_queues_on_the_account_with_most_room_once_every_slot_is_busy() -> None:
    accounts = [cand("1", running=3, waiting=4), cand("2", running=3, waiting=1), cand("3", running=3, waiting=1)]
    assert choose(accounts, SelectionRule.FILL).account_id == "2"  # most room; "2" before "3" on a tie


def test_fill_simulation_keeps_one_account_busy_first() -> None:
    running = {"1": 0, "2": 0}
    selector = Selector(SelectionRule.FILL)
    picks = []
    for _ in range(5):
        accounts = [cand(i, running=r) for i, r in running.items()]
        pick = selector.choose(accounts, Criteria()).account_id
        running[pick] += 1
        picks.append(pick)
    assert picks == ["1", "1", "1", "2", "2"]


def test_rule_applies_only_among_survivors_and_returns_the_mode() -> None:
    accounts = [cand("1", modes=[FAST]), cand("2", modes=[RELAX], running=2)]
    for rule in SelectionRule:
        assert choose(accounts, rule, modes=(RELAX,)) == Choice("2", RELAX)


def test_inlined_filters_agree_with_the_explained_chain() -> None:
    # choose() inlines the filter chain for speed; explain() walks it one filter at a time. On random
    # accounts and requests, an account must be choosable exactly when explain() has nothing against it.
    rng = random.Random(11)
    states = list(AccountState)
    for _ in range(3000):
        account = cand(
            str(rng.randint(1, 3)), state=rng.choice(states), remix=rng.random() < 0.5,
            fast_exhausted=rng.random() < 0.3, running=rng.randint(0, 3), waiting=rng.randint(0, 2),
            jobs_today=rng.randint(0, 3), enabled=rng.random() < 0.9, queue_size=rng.randint(0, 2),
            modes=rng.sample(list(SpeedMode), rng.randint(0, 3)), remark=rng.choice(["", "Blue", "red"]),
            daily_limit=rng.randint(0, 3), remix_auto_submit=rng.random() < 0.5)
        criteria = Criteria(
            account_id=rng.choice([None, None, "1"]), bot_type=rng.choice(list(BotType)),
            modes=tuple(rng.sample(list(SpeedMode), rng.randint(0, 3))), remark=rng.choice([None, "blue", "x"]),
            remix=rng.choice([None, True, False]), remix_auto_considered=rng.random() < 0.5)
        selector = Selector()
        try:
            selector.choose([account], criteria)
            chosen = True
        except (NoMatch, AllFull):
            chosen = False
        assert chosen == (selector.explain([account], criteria) == {}), (account, criteria)
