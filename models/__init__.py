from . import commerce_backend
from . import commerce_job
from . import commerce_job_attempt
from . import commerce_binding
from . import res_config_settings
from . import commerce_backend_clarity
