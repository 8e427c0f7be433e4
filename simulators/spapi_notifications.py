"""SP-API simulator family: Notifications v1: destinations, subscriptions and an EventBridge emitter.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/notifications.json`` (copied unchanged from Amazon's models).
"""


class NotificationsMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_notifications(self):
        pass
