"""SP-API simulator family: Fulfillment Outbound 2020-07-01 (Multi-Channel Fulfilment).

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/fulfillmentOutbound_2020-07-01.json`` (copied unchanged from Amazon's models).
"""


class FulfillmentOutboundMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_fulfillment(self):
        pass
