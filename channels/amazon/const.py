"""Amazon SP-API constants the client, the mapper and the backend share."""

CHANNEL = "amazon"
DEFAULT_LWA_URL = "https://api.amazon.com/auth/o2/token"
ENDPOINTS = {  # SP-API base URL per region of the marketplaces
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
REGIONS = [("na", "North America"), ("eu", "Europe"), ("fe", "Far East")]
AWS_REGIONS = {"na": "us-east-1", "eu": "eu-west-1", "fe": "us-west-2"}

# Default usage plans (requests per second, burst) from Amazon's API models; a response's
# x-amzn-RateLimit-Limit header replaces the rate when the account has another plan.
RATE_PLANS = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "createRestrictedDataToken": (1.0, 10),
    "confirmShipment": (2.0, 10),
    # Feeds 2021-06-30
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    # FBA Inventory v1
    "getInventorySummaries": (2.0, 2),
    # Listings Items 2021-08-01
    "getListingsItem": (5.0, 10),
    "putListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    # Fulfillment Outbound 2020-07-01 (Multi-Channel Fulfilment)
    "createFulfillmentOrder": (2.0, 30),
    "getFulfillmentOrder": (2.0, 30),
    "cancelFulfillmentOrder": (2.0, 30),
    "getPackageTrackingDetails": (2.0, 30),
    # Reports 2021-06-30
    "getReports": (0.0222, 10),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    # Finances v0
    "listFinancialEvents": (0.5, 30),
    # Notifications v1
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "deleteDestination": (1.0, 5),
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
}

# Orders 2026-01-01 fulfillment statuses (OrderFulfillment.fulfillmentStatus)
STATUS_PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
STATUS_PENDING = "PENDING"
STATUS_UNSHIPPED = "UNSHIPPED"
STATUS_PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
STATUS_SHIPPED = "SHIPPED"
STATUS_CANCELLED = "CANCELLED"
STATUS_UNFULFILLABLE = "UNFULFILLABLE"
DEFAULT_IMPORT_STATUSES = "UNSHIPPED,PARTIALLY_SHIPPED,SHIPPED"
DEFAULT_CONFIRM_STATUSES = "UNSHIPPED,PARTIALLY_SHIPPED,SHIPPED"
DEFAULT_CANCEL_STATUSES = "CANCELLED"

FULFILLED_BY_AMAZON = "AMAZON"  # FBA
FULFILLED_BY_MERCHANT = "MERCHANT"  # MFN

# Datasets read by the poller: no BUYER (names, e-mails); RECIPIENT is reduced to the
# non-personal part of the address before it is stored (see mapper.without_personal_data).
SEARCH_INCLUDED_DATA = ("RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "TAX")
PII_INCLUDED_DATA = SEARCH_INCLUDED_DATA + ("BUYER",)
PII_DATA_ELEMENTS = ("buyerInfo", "shippingAddress")
# The generic resource of restricted data tokens: one RDT for {orderId} covers every order.
ORDER_PATH = "/orders/2026-01-01/orders/{orderId}"
# A cached RDT is replaced when less than this is left of its life (seconds): a call using
# it may still wait for a token of its rate plan first.
RDT_RENEW_MARGIN = 120

MARKETPLACE_FACILITATOR = "MarketplaceFacilitator"
