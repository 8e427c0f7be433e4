"""SP-API simulator family: Listings Items 2021-08-01: putListingsItem, patchListingsItem, getListingsItem.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/listingsItems_2021-08-01.json`` (copied unchanged from Amazon's models).
"""


class ListingsMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_listings(self):
        pass
