"""The canonical model between the channels and Odoo.

Each channel adapter translates its payloads to and from these dataclasses; one importer or
exporter per entity does the Odoo side for every channel. Amounts are floats in the order's
currency, rounded by the adapters to the currency's precision.
"""

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class Address:
    name: str = ""
    company: str = ""
    street: str = ""
    street2: str = ""
    city: str = ""
    state_code: str = ""
    zip: str = ""
    country_code: str = ""
    email: str = ""
    phone: str = ""

    def is_empty(self):
        return not any((self.street, self.city, self.zip, self.country_code))


@dataclass
class Customer:
    external_id: str
    name: str
    email: str = ""
    phone: str = ""
    is_company: bool = False
    vat: str = ""
    address: Address = field(default_factory=Address)
    billing: Address | None = None
    shipping: list = field(default_factory=list)  # of Address
    taxable: bool | None = None
    updated_at: datetime | None = None
    raw: dict | None = None  # the channel's payload, for field mappings


@dataclass
class Discount:
    code: str
    name: str
    amount: float  # negative: money off


@dataclass
class Charge:
    """A priced part of a line that is not the item itself (gift wrap, a promotion), on a
    line of its own right after the item and taxed like it."""

    kind: str  # "discount" or "gift_wrap" (or "fee"): picks the service product
    name: str
    amount: float  # negative for money off


@dataclass
class OrderLine:
    external_id: str
    sku: str
    name: str
    quantity: float
    unit_price: float  # what the buyer pays per unit, line discounts included
    list_price: float | None = None
    tax_amount: float = 0.0
    discounts: list = field(default_factory=list)  # of Discount, informative
    attributes: dict = field(default_factory=dict)
    charges: list = field(default_factory=list)  # of Charge, each imported as its own line


@dataclass
class Order:
    channel: str
    external_id: str
    reference: str
    status: str
    currency: str
    updated_at: datetime | None
    date_order: datetime | None = None
    customer: Customer | None = None
    billing: Address = field(default_factory=Address)
    shipping: Address = field(default_factory=Address)
    lines: list = field(default_factory=list)  # of OrderLine
    shipping_amount: float = 0.0
    shipping_carrier: str = ""
    shipping_method: str = ""
    fees_amount: float = 0.0
    discounts: list = field(default_factory=list)  # order-level Discount, negative amounts
    tax_total: float = 0.0
    total: float = 0.0
    payment_method: str = ""
    client_order_ref: str = ""
    attributes: dict = field(default_factory=dict)  # flattened custom attributes
    raw: dict | None = None  # the channel's payload, for field mappings
    marketplace_id: str = ""  # marketplace channels: where the order was placed
    fulfillment_channel: str = ""  # "merchant" (we ship) or "marketplace" (the channel ships)
    # The marketplace collects and remits the tax (US marketplace facilitator): the order is
    # imported without tax and ``total`` excludes it.
    channel_collects_tax: bool = False
    # The channel rounds tax per item, Odoo per line: a tax difference up to this amount is
    # booked as a rounding line instead of refusing the order.
    tax_rounding_tolerance: float = 0.0

    @property
    def discount_total(self):
        return sum(d.amount for d in self.discounts)

    @property
    def skus(self):
        return [line.sku for line in self.lines]


@dataclass
class ProductVariant:
    sku: str
    price: float | None = None
    attributes: dict = field(default_factory=dict)  # attribute name -> value
    external_id: str = ""


@dataclass
class Product:
    external_id: str
    sku: str
    name: str
    price: float | None = None
    active: bool = True
    taxable: bool | None = None
    uom: str = ""
    categories: list = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    variants: list = field(default_factory=list)  # of ProductVariant
    updated_at: datetime | None = None
    raw: dict | None = None  # the channel's payload, for field mappings


@dataclass
class StockLevel:
    sku: str
    location_key: str
    quantity: float


@dataclass
class ShipmentLine:
    sku: str
    quantity: float


@dataclass
class Shipment:
    reference: str  # the picking name: the idempotency key on the remote side
    order_external_id: str
    carrier: str = ""
    method: str = ""
    tracking_number: str = ""
    ship_date: datetime | None = None
    lines: list = field(default_factory=list)  # of ShipmentLine


@dataclass
class OrderStatusChange:
    external_id: str
    status: str
    updated_at: datetime | None = None
    reason: str = ""


@dataclass
class ReturnLine:
    sku: str
    quantity: float


@dataclass
class OrderReturn:
    external_id: str  # return key (RMA)
    order_external_id: str
    status: str
    lines: list = field(default_factory=list)  # of ReturnLine
    refund_amount: float = 0.0
    currency: str = ""
    refund_only: bool = False


@dataclass
class FulfillmentRequest:
    """A delivery another party ships from its own stock for us (e.g. Amazon Multi-Channel
    Fulfilment of a storefront order)."""

    reference: str  # our ID of the fulfilment order: the idempotency key on the remote side
    displayable_reference: str  # the order number the recipient knows (packing slip)
    order_date: datetime
    address: Address
    shipping_speed: str
    lines: list = field(default_factory=list)  # of ShipmentLine
    comment: str = ""
    notification_emails: list = field(default_factory=list)


@dataclass
class FulfillmentState:
    """Where a fulfilment order stands: its status, the packages shipped so far, what cannot ship."""

    reference: str
    status: str
    packages: list = field(default_factory=list)  # of Shipment, one per shipped package (reference = package number)
    unfulfilled: list = field(default_factory=list)  # of ShipmentLine the fulfiller gave up on
    reason: str = ""  # the fulfiller's explanation, when it gave up


@dataclass
class InvoiceLine:
    sku: str
    name: str
    quantity: float
    unit_price: float
    subtotal: float  # untaxed


@dataclass
class Invoice:
    """A customer invoice of an order, as the REST API shows it (Odoo -> other tools only)."""

    number: str
    order_reference: str  # the order's channel reference
    state: str  # draft, posted, cancel
    payment_state: str  # not_paid, partial, paid, ...
    currency: str
    invoice_date: date | None = None
    amount_untaxed: float = 0.0
    tax_total: float = 0.0
    total: float = 0.0
    amount_due: float = 0.0
    lines: list = field(default_factory=list)  # of InvoiceLine
