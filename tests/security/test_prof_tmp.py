import cProfile, pstats, pytest
from tests.security.test_matrix import run_row
from tests.security.matrix import MATRIX
@pytest.mark.django_db
def test_prof(module_world):
    row = [r for r in MATRIX if r.route == "accounts:token-revoke" and r.method == "GET"][0]
    pr = cProfile.Profile(); pr.enable()
    run_row(module_world, row)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(20)
