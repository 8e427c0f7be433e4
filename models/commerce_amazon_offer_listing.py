import json

from odoo import fields, models

from ..channels.amazon import listings
from ..core.errors import BusinessError, PayloadValidationError
from ..core.job_registry import register

LISTING_JOB = "amazon.listing.publish"


class CommerceAmazonOffer(models.Model):
    """The listing of an offer, published from its product through the backend's outbound
    field mappings: the last submission's status and the issues Amazon found in it."""

    _inherit = "commerce.amazon.offer"

    listing_status = fields.Selection(
        [("ACCEPTED", "Accepted"), ("INVALID", "Invalid"), ("VALID", "Valid")], readonly=True, copy=False,
        help="Amazon's answer to the last putListingsItem / patchListingsItem of this SKU.")
    listing_product_type = fields.Char(string="Product Type", readonly=True, copy=False)
    listing_submission_id = fields.Char(string="Submission ID", readonly=True, copy=False)
    listing_date = fields.Datetime(string="Last Submitted", readonly=True, copy=False)
    listing_issues = fields.Text(string="Listing Issues", readonly=True, copy=False)
    listing_issue_count = fields.Integer(string="Issues", readonly=True, copy=False)
    listing_published = fields.Boolean(
        readonly=True, copy=False,
        help="Amazon accepted a full listing once: later publications patch the mapped attributes.")

    def _amazon_publish_listing(self):
        """putListingsItem the first time (patchListingsItem once Amazon has the listing) with the
        attributes the backend's export mappings read from the product."""
        self.ensure_one()
        backend = self.backend_id
        if not backend.amazon_seller_id:
            raise BusinessError(f"Amazon backend {backend.name}: set the seller ID to publish listings")
        values = self.env["commerce.field.mapping"].export_values(backend, "product.template", self.product_id)
        product_type, values = listings.split_product_type(values)
        marketplace = self.marketplace_id
        if listings.PRICE_ATTRIBUTE in values:
            company = backend.company_id or self.env.company
            values[listings.PRICE_ATTRIBUTE] = company.currency_id._convert(
                listings.price_value(values[listings.PRICE_ATTRIBUTE]), marketplace.currency_id, company,
                fields.Date.today())
        attributes = listings.listing_attributes(values, marketplace.code, listings.language_tag(
            marketplace.country_id.code), marketplace.currency_id.name)
        client = backend._amazon_client(marketplace)
        if self.listing_published:
            result = listings.patch_listings_item(client, backend.amazon_seller_id, self.seller_sku,
                                                  listings.patch_body(product_type, attributes))
        else:
            result = listings.put_listings_item(client, backend.amazon_seller_id, self.seller_sku,
                                                listings.put_body(product_type, attributes))
        self.write({
            "listing_status": result.status,
            "listing_product_type": product_type,
            "listing_submission_id": result.submission_id,
            "listing_date": fields.Datetime.now(),
            "listing_issues": "\n".join(str(issue) for issue in result.issues) or False,
            "listing_issue_count": len(result.issues),
            "listing_published": self.listing_published or result.status == "ACCEPTED",
        })
        return {"sku": self.seller_sku, "status": result.status, "submission_id": result.submission_id,
                "issues": [str(issue) for issue in result.issues]}

    def action_open_listing(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "views": [(self.env.ref("commerce_connector.view_commerce_amazon_offer_form_listing").id, "form")]}


def _handle_publish(job):
    try:
        offer_id = int(json.loads(job.payload or "")["offer_id"])
    except (ValueError, KeyError, TypeError):
        raise PayloadValidationError('the payload needs {"offer_id": <commerce.amazon.offer id>}') from None
    offer = job.env["commerce.amazon.offer"].browse(offer_id).exists()
    if not offer:
        raise BusinessError("the offer no longer exists")
    return offer._amazon_publish_listing()


register(LISTING_JOB, _handle_publish)
