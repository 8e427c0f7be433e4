from . import commerce_job_edit_payload
from . import commerce_mapping_template_export
from . import commerce_mapping_template_import
