from . import test_job_engine
