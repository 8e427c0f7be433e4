"""SP-API simulator family: Finances v0: listFinancialEvents.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/financesV0.json`` (copied unchanged from Amazon's models).
"""


class FinancesMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_finances(self):
        pass
