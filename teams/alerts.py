"""The budget-alert engine behind ``litemaas.teams.check_budget_alerts`` (every few minutes on beat).

One run: take the single-flight lock, re-send deliveries left pending by an earlier run, read the spend of
every key (paged ``/key/list`` with full objects), of users and teams with a budget (paged ``/user/list`` and
``/v2/team/list``, 100 a call; ``/user/info`` and ``/team/info`` with bounded concurrency when only a few
objects have a budget), and for each threshold crossed claim an
alert row ``(target type, target id, threshold, period start)``. The unique constraint makes the claim
insert-if-absent: an alert happens once per budget period, never twice, and a restart loses nothing
(a claim is written in the same transaction as its in-app notification and its pending e-mail/webhook
deliveries). When the budget resets, LiteLLM's reset time moves, so the period start changes and the
thresholds are armed again. Only the highest newly crossed threshold is delivered; lower ones crossed in
the same run are claimed silently. Admins get one digest per day of targets over the digest threshold.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.alert_preferences import (
    AlertPrefs,
    absolute_link,
    alert_notify,
    alert_prefs_for_users,
    alert_send_email,
)
from accounts.models import Role, User
from litemaas.locks import SingleFlightLock
from teams.models import (
    MANAGER_ROLES,
    AlertTarget,
    BudgetAlert,
    BudgetAlertDelivery,
    DeliveryChannel,
    DeliveryStatus,
    Membership,
    Team,
    TeamStatus,
)
from teams.services import period_start_of
from usage import forecast

logger = logging.getLogger(__name__)

LOCK_KEY = "teams:budget-alerts:lock"
LIVE_KEY_STATUSES = ("active", "blocked")


@dataclass
class Target:
    """One budget as the job sees it (spend and budget from LiteLLM; recipients from the portal)."""

    kind: str
    id: str
    name: str
    spend: Decimal
    max_budget: Decimal | None
    soft_budget: Decimal | None
    reset_at: datetime | None
    duration: str | None
    recipients: list[Any]
    link: str
    team_id: Any = None  # for a team target: its webhook

    @property
    def share(self) -> Decimal | None:
        return forecast.utilisation(self.spend, self.max_budget)


@dataclass
class RunResult:
    keys: int = 0
    users: int = 0
    teams: int = 0
    claimed: int = 0
    delivered: int = 0
    digest: bool = False
    redelivered: int = 0
    skipped: bool = False
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    read_seconds: float = 0.0


_LABEL = {"key": "key", "user": "personal budget", "team": "team"}


# ---------------------------------------------------------------------------------------------------------
# Reading spend
# ---------------------------------------------------------------------------------------------------------
def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def collect_key_targets(client: Any) -> list[Target]:
    """Every portal key LiteLLM reports with a budget or soft budget (one paged ``/key/list`` walk, plus one
    query for the portal rows)."""
    from apikeys.models import ApiKey

    remote = {k.token: k for k in client.key_list() if k.max_budget is not None or k.soft_budget is not None}
    if not remote:
        return []
    targets: list[Target] = []
    rows = (ApiKey.objects.filter(status__in=LIVE_KEY_STATUSES, deleted_at__isnull=True, key_type="standard")
            .values_list("id", "token_hash", "user_id", "name", "budget_duration"))
    for key_id, token_hash, user_id, name, duration in rows.iterator(chunk_size=5000):
        info = remote.get(token_hash)
        if info is None:
            continue
        targets.append(Target("key", str(key_id), name, Decimal(str(info.spend)), _dec(info.max_budget),
                              _dec(info.soft_budget), info.budget_reset_at, info.budget_duration or duration,
                              [user_id], f"/api-keys/{key_id}/"))
    return targets


def _read_many(fn: Any, ids: list[str]) -> dict[str, Any]:
    """Call ``fn(id)`` for every id with bounded concurrency (HTTP only, no database in the threads)."""
    if not ids:
        return {}
    workers = max(1, int(settings.BUDGET_ALERT_READ_CONCURRENCY))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="budget-alerts") as pool:
        return dict(zip(ids, pool.map(fn, ids), strict=True))


# Rows per page of LiteLLM's paged lists (/user/list, /v2/team/list answer 422 above 100).
LIST_PAGE_SIZE = 100


def _paging_pays(wanted: int, listed: int) -> bool:
    """Whether walking a paged list of about ``listed`` objects (100 a call) takes no more calls than one
    info call for each of the ``wanted`` objects. Pure."""
    return wanted > 0 and -(-listed // LIST_PAGE_SIZE) <= wanted


def _read_listed(*, list_fn: Any, get_fn: Any, id_of: Any, ids: list[str], listed: int) -> dict[str, Any]:
    """Spend rows of ``ids``: one paged list walk (``list_fn``) when that is cheaper (``_paging_pays``),
    else ``get_fn`` per id with bounded concurrency; also that when the proxy lacks the list route (404)."""
    from integrations.litellm.errors import LiteLLMNotFound

    if _paging_pays(len(ids), listed):
        wanted = set(ids)
        try:
            return {id_of(row): row for row in list_fn() if id_of(row) in wanted}
        except LiteLLMNotFound:
            logger.info("budget alerts: no paged list on this LiteLLM, reading one object at a time")
    return _read_many(get_fn, ids)


def collect_user_targets(client: Any) -> list[Target]:
    """Active users with a budget, their spend read in batches: LiteLLM's paged ``/user/list`` (100 users a
    call, spend, budget and reset time included, no key rows) when that takes fewer calls than one
    ``/user/info`` each (which also returns every key of the user), else ``/user/info`` with bounded
    concurrency. A user LiteLLM does not list is skipped."""
    users = list(User.objects.filter(is_active=True, max_budget__isnull=False)
                 .values_list("id", "username", "max_budget", "budget_duration"))
    listed = User.objects.filter(is_active=True).count()
    infos = _read_listed(list_fn=lambda: client.user_list(page_size=LIST_PAGE_SIZE), get_fn=client.user_get,
                         id_of=lambda row: row.user_id, ids=[str(u[0]) for u in users], listed=listed)
    targets = []
    for user_id, username, max_budget, duration in users:
        info = infos.get(str(user_id))
        if info is None:
            continue
        targets.append(Target("user", str(user_id), username, Decimal(str(info.spend)), max_budget, None,
                              info.budget_reset_at, info.budget_duration or duration, [user_id], "/usage/"))
    return targets


def collect_team_targets(client: Any) -> list[Target]:
    """Active teams with a budget or soft budget; recipients are owners and admins. Spend is read in
    batches from the paged ``/v2/team/list`` (no key rows, unlike ``/team/list`` and ``/team/info``) when
    that takes fewer calls, else (or on a proxy without it) ``/team/info`` each, bounded concurrency."""
    teams = list(Team.objects.filter(status=TeamStatus.ACTIVE)
                 .exclude(max_budget__isnull=True, soft_budget__isnull=True))
    listed = Team.objects.count()  # LiteLLM keeps archived teams too
    infos = _read_listed(list_fn=lambda: client.team_list_paged(page_size=LIST_PAGE_SIZE), get_fn=client.team_get,
                         id_of=lambda row: row.team_id, ids=[str(t.pk) for t in teams], listed=listed)
    managers: dict[Any, list[Any]] = defaultdict(list)
    for team_id, user_id in Membership.objects.filter(team__in=teams, role__in=MANAGER_ROLES,
                                                      user__is_active=True).values_list("team_id", "user_id"):
        managers[team_id].append(user_id)
    targets = []
    for team in teams:
        info = infos.get(str(team.pk))
        if info is None:
            continue
        targets.append(Target("team", str(team.pk), team.name, Decimal(str(info.spend)), team.max_budget,
                              team.soft_budget, info.budget_reset_at, info.budget_duration or team.budget_duration,
                              managers.get(team.pk, []), f"/teams/{team.pk}/", team_id=team.pk))
    return targets


# ---------------------------------------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------------------------------------
def crossed_thresholds(target: Target, thresholds: Iterable[int]) -> list[str]:
    """Percent thresholds (as strings, ascending) the target's spend has reached, plus ``soft``. Pure."""
    crossed: list[str] = []
    share = target.share
    if share is not None:
        crossed += [str(t) for t in sorted(set(thresholds)) if share * 100 >= t]
    if target.soft_budget is not None and target.soft_budget > 0 and target.spend >= target.soft_budget:
        crossed.append("soft")
    return crossed


def runway_alert_due(target: Target, rate: Decimal, now: datetime) -> forecast.Runway | None:
    """The runway when it ends before the budget resets (or, with no reset, within
    ``BUDGET_ALERT_RUNWAY_NO_RESET_DAYS``); None otherwise. Pure apart from settings."""
    if target.max_budget is None or rate <= 0:
        return None
    r = forecast.runway(spend=target.spend, max_budget=target.max_budget, daily_rate=rate, now=now,
                        reset_at=target.reset_at)
    if r.exhausted or r.exhausted_at is None:
        return None
    if target.reset_at is not None:
        return r if r.before_reset else None
    limit = now + timedelta(days=settings.BUDGET_ALERT_RUNWAY_NO_RESET_DAYS)
    return r if r.exhausted_at <= limit else None


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.quantize(Decimal('0.01'))}"


def alert_text(target: Target, threshold: str, runway: forecast.Runway | None = None) -> tuple[str, str]:
    """Title and body of an alert (plain text, also used for e-mail and webhooks). Pure."""
    what = f"{_LABEL[target.kind]} “{target.name}”" if target.kind != "user" else "your personal budget"
    reset = f" It resets on {target.reset_at:%Y-%m-%d}." if target.reset_at else ""
    if threshold == "runway" and runway is not None and runway.exhausted_at is not None:
        day = runway.exhausted_at
        title = f"At this pace {what} hits its cap on the {_ordinal(day.day)}"
        body = (f"Spend {_money(target.spend)} of {_money(target.max_budget)}; at the last 7 days' rate "
                f"({_money(runway.daily_rate)}/day) the budget runs out on {day:%Y-%m-%d}.{reset}")
        return title, body
    if threshold == "soft":
        return (f"Soft budget reached for {what}",
                f"Spend {_money(target.spend)} reached the soft budget of {_money(target.soft_budget)}.{reset}")
    title = f"{what[0].upper()}{what[1:]} is at {threshold} % of its budget"
    body = f"Spend {_money(target.spend)} of a budget of {_money(target.max_budget)} ({threshold} %).{reset}"
    return title, body


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---------------------------------------------------------------------------------------------------------
# Claiming and delivering
# ---------------------------------------------------------------------------------------------------------
def claim_alert(*, target: Target, threshold: str, period_start: datetime, title: str, body: str,
                deliver: bool, recipients: dict[Any, AlertPrefs], users: dict[Any, User],
                team: Team | None = None) -> BudgetAlert | None:
    """Insert the claim (None if it already exists) and, when ``deliver``, in the same transaction the
    in-app notifications and the pending e-mail/webhook deliveries of everyone who wants this threshold.
    The caller sends the deliveries once the claim committed (``deliver_pending_for_alert``); a crash in
    between leaves them pending for the next run. The unique constraint makes a second call a no-op."""
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(
                target_type=target.kind, target_id=target.id, threshold=threshold, period_start=period_start,
                spend=target.spend, budget=target.max_budget, title=title[:200], body=body, link=target.link,
                delivered=deliver)
            if deliver:
                _fan_out(alert, target, recipients, users, team)
    except IntegrityError:
        return None
    return alert


def _fan_out(alert: BudgetAlert, target: Target, recipients: dict[Any, AlertPrefs], users: dict[Any, User],
             team: Team | None) -> None:
    deliveries = []
    level = "danger" if alert.threshold in ("100", "runway") else "warning"
    for user_id, prefs in recipients.items():
        user = users.get(user_id)
        if user is None or not prefs.wants(alert.threshold):
            continue
        alert_notify(user=user, prefs=prefs, kind=f"budget.{alert.threshold}", title=alert.title, body=alert.body,
                     link=alert.link, level=level)
        if prefs.channel_email and user.email:
            deliveries.append(BudgetAlertDelivery(alert=alert, channel=DeliveryChannel.EMAIL, user=user))
        if prefs.channel_webhook:
            deliveries.append(BudgetAlertDelivery(alert=alert, channel=DeliveryChannel.WEBHOOK, user=user))
    if team is not None and team.alert_webhook_url:
        deliveries.append(BudgetAlertDelivery(alert=alert, channel=DeliveryChannel.WEBHOOK, team=team))
    BudgetAlertDelivery.objects.bulk_create(deliveries)


def _payload(alert: BudgetAlert) -> dict[str, Any]:
    return {"event": "budget.alert", "alert_id": alert.pk, "target_type": alert.target_type,
            "target_id": alert.target_id, "threshold": alert.threshold, "period_start": alert.period_start.isoformat(),
            "spend": str(alert.spend), "budget": None if alert.budget is None else str(alert.budget),
            "title": alert.title, "body": alert.body, "link": alert.link, "url": absolute_link(alert.link),
            "sent_at": timezone.now().isoformat()}


def deliver(delivery: BudgetAlertDelivery) -> bool:
    """Send one pending delivery and record the outcome (claimed with a conditional UPDATE so two workers
    never send the same one). Returns True when sent. Never raises for e-mail or HTTP failures."""
    from accounts.alert_preferences import alert_prefs_get
    from integrations.webhooks import webhook_post

    claimed = BudgetAlertDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING,
                                                 attempts=delivery.attempts).update(attempts=delivery.attempts + 1)
    if claimed != 1:
        return False
    delivery.attempts += 1
    alert = delivery.alert
    ok, error = False, ""
    try:
        if delivery.channel == DeliveryChannel.EMAIL:
            alert_send_email(user=delivery.user, title=alert.title, body=alert.body, link=alert.link)
            ok = True
        else:
            if delivery.team_id:
                url, secret = delivery.team.alert_webhook_url, delivery.team.alert_webhook_secret
            else:
                prefs = alert_prefs_get(user=delivery.user)
                url, secret = prefs.webhook_url, prefs.webhook_secret
            if not url:
                error = "no webhook URL any more"
            else:
                result = webhook_post(url=url, secret=secret, event="budget.alert", payload=_payload(alert),
                                      delivery_id=str(delivery.pk))
                ok, error = result.ok, result.error
    except Exception as exc:  # noqa: BLE001 - an SMTP/HTTP problem is recorded, the job goes on
        error = f"{type(exc).__name__}: {exc}"[:500]
    max_runs = settings.BUDGET_ALERT_DELIVERY_MAX_RUNS
    status = DeliveryStatus.SENT if ok else (DeliveryStatus.FAILED if delivery.attempts >= max_runs or
                                             error == "no webhook URL any more" else DeliveryStatus.PENDING)
    BudgetAlertDelivery.objects.filter(pk=delivery.pk).update(
        status=status, last_error=error[:500], sent_at=timezone.now() if ok else None)
    return ok


def deliver_pending_for_alert(alert_id: int) -> int:
    """Send the pending deliveries of one alert (after its claim committed). Returns how many were sent."""
    return sum(deliver(d) for d in BudgetAlertDelivery.objects.select_related("alert", "user", "team")
               .filter(alert_id=alert_id, status=DeliveryStatus.PENDING))


def deliver_pending(*, older_than_seconds: int = 60) -> int:
    """Re-send deliveries still pending from an earlier run or a crashed process."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = (BudgetAlertDelivery.objects.select_related("alert", "user", "team")
               .filter(status=DeliveryStatus.PENDING, created_at__lte=cutoff)[:500])
    return sum(deliver(d) for d in pending)


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------
def check_budget_alerts(*, now: datetime | None = None, client: Any = None) -> RunResult:
    """One alert run (see the module docstring). Single-flight: a run that finds the lock taken returns
    ``skipped``. Idempotent (claims are unique). Raises ``LiteLLMUnavailable`` when LiteLLM cannot be read
    (nothing was claimed from a partial view of keys; users/teams failures only skip those)."""
    from integrations.litellm.client import get_litellm_client
    from integrations.litellm.errors import LiteLLMError

    result = RunResult()
    lock = SingleFlightLock(LOCK_KEY, timeout=settings.BUDGET_ALERT_LOCK_SECONDS)
    if not lock.acquire():
        result.skipped = True
        return result
    started = time.monotonic()
    try:
        result.redelivered = deliver_pending()
        client = client or get_litellm_client()
        now = now or timezone.now()
        targets = collect_key_targets(client)
        result.keys = len(targets)
        for collect, attr in ((collect_user_targets, "users"), (collect_team_targets, "teams")):
            try:
                found = collect(client)
            except LiteLLMError as exc:
                result.errors.append(f"{attr}: {exc.code}")
                continue
            setattr(result, attr, len(found))
            targets += found
        result.read_seconds = time.monotonic() - started
        _evaluate(targets, now, result)
        result.digest = _admin_digest(targets, now)
    finally:
        lock.release()
    result.seconds = time.monotonic() - started
    logger.info("budget alerts: %s keys, %s users, %s teams, %s claimed in %.1fs", result.keys, result.users,
                result.teams, result.claimed, result.seconds)
    return result


def _evaluate(targets: list[Target], now: datetime, result: RunResult) -> None:
    from teams.selectors import trailing_rates

    recipient_ids = sorted({uid for t in targets for uid in t.recipients}, key=str)
    prefs = alert_prefs_for_users(recipient_ids)
    union = sorted({th for p in prefs.values() for th in p.thresholds} or set(settings.BUDGET_ALERT_DEFAULT_THRESHOLDS))
    candidates: list[tuple[Target, datetime, list[str], forecast.Runway | None]] = []
    rates = {kind: None for kind in ("key", "user", "team")}
    for target in targets:
        crossed = crossed_thresholds(target, union)
        if target.max_budget is None and not crossed:
            continue
        if rates[target.kind] is None:
            rates[target.kind] = trailing_rates(kind=target.kind, now=now)
        runway = runway_alert_due(target, rates[target.kind].get(target.id, Decimal(0)), now)
        if runway is not None:
            crossed.append("runway")
        if crossed:
            candidates.append((target, period_start_of(reset_at=target.reset_at, duration=target.duration),
                               crossed, runway))
    if not candidates:
        return
    existing = _existing_claims(candidates)
    users = {u.pk: u for u in User.objects.filter(pk__in={uid for c in candidates for uid in c[0].recipients})}
    teams = {t.pk: t for t in Team.objects.filter(pk__in={c[0].team_id for c in candidates if c[0].team_id})}
    for target, period, crossed, runway in candidates:
        new = [th for th in crossed if (target.kind, target.id, th, period) not in existing]
        if not new:
            continue
        percent = [th for th in new if th.isdigit()]
        # Deliver the highest new percentage and any soft/runway alert; lower percentages only get claimed.
        loudest = max(percent, key=int) if percent else None
        recipients = {uid: prefs.get(uid) or prefs_default() for uid in target.recipients}
        for th in new:
            deliver_it = th == loudest or not th.isdigit()
            title, body = alert_text(target, th, runway if th == "runway" else None)
            alert = claim_alert(target=target, threshold=th, period_start=period, title=title, body=body,
                                deliver=deliver_it, recipients=recipients, users=users,
                                team=teams.get(target.team_id))
            if alert is not None:
                result.claimed += 1
                if deliver_it:
                    result.delivered += 1
                    deliver_pending_for_alert(alert.pk)


def prefs_default() -> AlertPrefs:
    from accounts.alert_preferences import _prefs_of

    return _prefs_of(None)


def _existing_claims(candidates: list[tuple[Target, datetime, list[str], Any]]) -> set[tuple[str, str, str, datetime]]:
    found: set[tuple[str, str, str, datetime]] = set()
    by_kind: dict[str, list[str]] = defaultdict(list)
    for target, *_ in candidates:
        by_kind[target.kind].append(target.id)
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), 1000):
            rows = BudgetAlert.objects.filter(target_type=kind, target_id__in=ids[start:start + 1000]).values_list(
                "target_type", "target_id", "threshold", "period_start")
            found.update((a, b, c, d) for a, b, c, d in rows)
    return found


def _admin_digest(targets: list[Target], now: datetime) -> bool:
    """Once a day: the admins (and their digest preference) get the list of targets over the digest
    threshold. Claimed like any alert (target ``digest``/``admins``, period = the UTC day)."""
    limit = Decimal(settings.BUDGET_ALERT_DIGEST_THRESHOLD) / 100
    hot = sorted((t for t in targets if t.share is not None and t.share >= limit),
                 key=lambda t: t.share or 0, reverse=True)
    if not hot:
        return False
    admins = {u.pk: u for u in User.objects.filter(role=Role.ADMIN, is_active=True)}
    if not admins:
        return False
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [f"- {t.kind} “{t.name}”: {_money(t.spend)} of {_money(t.max_budget)} "
             f"({(t.share or 0) * 100:.0f} %)" for t in hot[:100]]
    more = f"\n… and {len(hot) - 100} more." if len(hot) > 100 else ""
    digest = Target(AlertTarget.DIGEST, "admins", "admins", Decimal(0), None, None, None, None, list(admins),
                    "/admin-teams/")
    title = f"Budget digest: {len(hot)} budgets at or over {settings.BUDGET_ALERT_DIGEST_THRESHOLD} %"
    prefs = alert_prefs_for_users(list(admins))
    alert = claim_alert(target=digest, threshold="digest", period_start=day, title=title,
                        body="\n".join(lines) + more, deliver=True, recipients=prefs, users=admins)
    if alert is not None:
        deliver_pending_for_alert(alert.pk)
    return alert is not None
