from . import test_job_engine
from . import test_binding
from . import test_security
from . import test_settings
from . import test_clarity_orders
from . import test_clarity_simulator
from . import test_clarity_client
