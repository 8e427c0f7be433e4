from . import test_job_engine
from . import test_binding
from . import test_security
from . import test_settings
