from __future__ import annotations

import pytest

from ringtrail.dni.tests.support import Site, make_site


@pytest.fixture
def site(db: None) -> Site:
    return make_site()
