"""Celery: JSON only, time limits, a beat schedule in code, eager without a broker."""
from __future__ import annotations

from celery.result import EagerResult
from django.conf import settings

from litemaas.celery import app
from litemaas.tasks import ping


def test_ping_runs_eagerly_without_a_broker():
    assert not settings.CELERY_BROKER_URL
    result = ping.delay()
    assert isinstance(result, EagerResult)
    assert result.get() == "pong"


def test_ping_is_registered_under_its_explicit_name():
    app.loader.import_default_modules()
    assert app.tasks["litemaas.ping"].name == "litemaas.ping"


def test_celery_is_json_only_with_soft_and_hard_time_limits():
    conf = app.conf
    assert conf.task_always_eager is True and conf.task_eager_propagates is True
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json" and conf.result_serializer == "json"
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit


def test_beat_schedule_is_a_dict_of_named_tasks_in_settings():
    schedule = app.conf.beat_schedule
    assert isinstance(schedule, dict) and schedule == settings.CELERY_BEAT_SCHEDULE
    for name, entry in schedule.items():
        assert entry["task"].startswith("litemaas."), name
        assert "schedule" in entry, name
