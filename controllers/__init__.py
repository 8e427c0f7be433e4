from . import clarity_webhook
from . import api_v1
from . import amazon_notification
