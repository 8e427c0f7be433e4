from . import clarity_webhook
