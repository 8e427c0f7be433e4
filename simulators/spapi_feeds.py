"""SP-API simulator family: Feeds 2021-06-30: createFeedDocument, upload, createFeed, getFeed, processing reports.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/feeds_2021-06-30.json`` (copied unchanged from Amazon's models).
"""


class FeedsMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_feeds(self):
        pass
