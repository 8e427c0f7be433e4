from . import commerce_job_edit_payload
