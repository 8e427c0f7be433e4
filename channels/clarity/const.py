"""Clarity eCommerce protocol constants (contract: shared/specs/clarity-ecommerce-api.md)."""

WEBHOOK_TOLERANCE_SECONDS = 300  # §6: reject timestamps further off than this
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024  # our limit: 1 MiB
SIGNATURE_VERSION = "v1"

HEADER_EVENT_ID = "X-Clarity-Event-Id"
HEADER_EVENT = "X-Clarity-Event"
HEADER_TIMESTAMP = "X-Clarity-Timestamp"
HEADER_SIGNATURE = "X-Clarity-Signature"

# Webhook event -> the job type that handles it.
EVENT_JOB_TYPES = {
    "order.created": "clarity.order.import",
    "order.updated": "clarity.order.update",
    "order.cancelled": "clarity.order.cancel",
    "order.returned": "clarity.order.return",
    "order.refunded": "clarity.order.refund",
    "customer.created": "clarity.customer.import",
    "customer.updated": "clarity.customer.import",
    "product.updated": "clarity.product.import",
    "inventory.updated": "clarity.inventory.update",
}
UNKNOWN_EVENT_JOB_TYPE = "clarity.event.unknown"

# Order statuses (§5): a cancel is a Void, there is no "Cancelled".
STATUS_VOID = "Void"
STATUS_SHIPPED = "Shipped"
STATUS_COMPLETED = "Completed"
