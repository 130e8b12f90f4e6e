"""Settings for `make bench`: the service's own, plus the baseline view's URL."""
from consentvault import settings as _base

globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

ROOT_URLCONF = "tests.bench.urls"
