import time, requests, pytest
from tests.faults.test_postgres_faults import db_proxy, browser  # noqa

@pytest.mark.django_db(transaction=True)
def test_dbg(db_proxy, browser, live_server):
    api = f"{live_server.url}/api/v1/api-keys"
    browser.get(api)
    db_proxy.set("blackhole")
    import faulthandler, sys; faulthandler.dump_traceback_later(12, file=sys.__stderr__)
    n = db_proxy.accepted
    t = time.monotonic()
    r = browser.get(api, timeout=14, headers={"Accept": "application/json"})
    print("\nDBG", r.status_code, r.text[:200], time.monotonic() - t, "connects", db_proxy.accepted - n)
    db_proxy.set("pass")
