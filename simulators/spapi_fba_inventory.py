"""SP-API simulator family: FBA Inventory v1: getInventorySummaries.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/fbaInventory.json`` (copied unchanged from Amazon's models).
"""


class FbaInventoryMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_fba_inventory(self):
        pass
