import json

from odoo import models
from odoo.tools import float_compare

from ..channels.clarity import const, mapper
from ..channels.clarity.client import MAX_INVENTORY_BATCH
from ..core.canonical import Product
from ..core.errors import BusinessError, PayloadValidationError
from ..core.job_registry import register
from ..core.outbound import batched
from .commerce_backend_export import (FLOW_INVENTORY, FLOW_INVENTORY_ITEMS, FLOW_ORDER_VOID, FLOW_PRODUCT,
                                      FLOW_SHIPMENT)

REPORTED_SKUS = 20  # how many SKUs a job result names per outcome; the counts are complete


class CommerceBackend(models.Model):
    """Clarity outbound flows: stock levels, shipments, voids and product upserts."""

    _inherit = "commerce.backend"

    def _clarity_published_locations(self):
        return self.clarity_location_ids

    # -- stock -----------------------------------------------------------------------------
    def _clarity_export_stock(self, job):
        """Send the absolute available stock of the products whose stock changed (at most
        10,000 per job, see ``take_changes``; a follow-up job takes the rest at once).

        Items Clarity answers ``not_found`` (a SKU this store does not sell) are reported.
        Refused items (``error``) go to a job of their own that fails for review when they are
        refused again: one bad SKU never holds back the other products.
        """
        self.ensure_one()
        exporter = self.env["commerce.stock.exporter"]
        Job = self.env["commerce.job"]
        outcome, refused = self._clarity_push_stock(exporter.take_changes(self))
        if refused:
            outcome["refused_items_job"] = Job.enqueue(
                self, f"clarity.{FLOW_INVENTORY_ITEMS}", payload={"product_ids": refused.ids},
                idempotency_key=f"refused-by:{job.id}").id
        if exporter.has_changes(self):
            outcome["continued_by_job"] = Job.enqueue(
                self, job.job_type, payload={}, idempotency_key=f"continues:{job.id}").id
        return outcome

    def _clarity_export_stock_items(self, job):
        """Send the stock of the products the job names (items Clarity refused before)."""
        self.ensure_one()
        product_ids = (json.loads(job.payload or "{}") or {}).get("product_ids")
        if not isinstance(product_ids, list) or not all(isinstance(i, int) for i in product_ids):
            raise PayloadValidationError("the payload must be {\"product_ids\": [product ids]}")
        products = self.env["product.product"].sudo().with_context(active_test=False).browse(product_ids).exists()
        outcome, refused = self._clarity_push_stock(products)
        if refused:
            raise BusinessError(f"Clarity refused {outcome['refused']} stock item(s): {outcome['refused_items']}")
        return outcome

    def _clarity_push_stock(self, products):
        """Push ``products``' stock levels in batches of at most 500 items.

        :return: (job result, the products with refused items)
        """
        outcome = {"products": len(products), "items": 0, "calls": 0}
        if not products:
            return outcome, products
        exporter = self.env["commerce.stock.exporter"]
        levels, without_sku = exporter.stock_levels(self, products)
        client = self._clarity_client()
        results = []
        for batch in batched(mapper.stock_levels_to_clarity(levels), MAX_INVENTORY_BATCH):
            results.extend(client.push_inventory(batch))
            outcome["calls"] += 1
        by_status = {}
        for result in results:
            by_status.setdefault(result.get("Status") or "error", []).append(result)
        not_found = by_status.get("not_found", [])
        refused = [r for status, items in by_status.items() if status not in ("ok", "not_found") for r in items]
        outcome.update(
            items=len(results), ok=len(by_status.get("ok", [])), without_sku=len(without_sku),
            not_found=len(not_found), not_found_skus=sorted({r.get("Sku") for r in not_found})[:REPORTED_SKUS])
        if not refused:
            return outcome, products.browse()
        outcome.update(refused=len(refused), refused_items="; ".join(
            f"{r.get('Sku')}@{r.get('LocationKey')}: {r.get('Message') or 'refused'}" for r in refused[:REPORTED_SKUS]))
        refused_skus = {r.get("Sku") for r in refused}
        return outcome, products.filtered(lambda p: p.default_code in refused_skus)

    # -- shipments -------------------------------------------------------------------------
    def _clarity_export_shipment(self, job):
        """Create the Clarity shipment of a done delivery; once the order has nothing left to
        ship, set it Shipped (the façade does so by itself; the native API needs the call,
        and repeating it is harmless). A partial delivery leaves the status to Clarity."""
        self.ensure_one()
        picking = self.env["stock.picking"].browse(_payload_id(job, "picking_id")).exists()
        if not picking:
            raise PayloadValidationError("the delivery of this job no longer exists")
        exporter = self.env["commerce.shipment.exporter"]
        shipment = exporter.shipment_from_picking(self, picking)
        if not shipment.lines:
            return {"picking": picking.name, "skipped": "nothing was shipped"}
        client = self._clarity_client()
        remote = client.create_shipment(shipment.order_external_id, mapper.shipment_to_clarity(shipment)) or {}
        outcome = {"picking": picking.name, "order": shipment.order_external_id, "shipment": remote.get("ID"),
                   "tracking_number": shipment.tracking_number, "status": False}
        if exporter.is_fully_shipped(picking.sale_id):
            client.set_order_status(shipment.order_external_id, const.STATUS_SHIPPED,
                                    note=f"Shipped from Odoo ({picking.sale_id.name})")
            outcome["status"] = const.STATUS_SHIPPED
        return outcome

    # -- cancellations ---------------------------------------------------------------------
    def _clarity_export_void(self, job):
        self.ensure_one()
        order = self.env["sale.order"].browse(_payload_id(job, "sale_order_id")).exists()
        external_id = order and self.env["commerce.binding"].lookup_external(self, order)
        if not external_id:
            raise BusinessError("the cancelled sale order is no longer bound to a Clarity order")
        if order.state != "cancel":
            return {"order": external_id, "skipped": f"{order.name} is no longer cancelled"}
        self._clarity_client().set_order_status(external_id, const.STATUS_VOID,
                                                note=f"Cancelled in Odoo ({order.name})")
        return {"order": external_id, "status": const.STATUS_VOID}

    # -- products --------------------------------------------------------------------------
    def _clarity_export_product(self, job):
        """Upsert the name, base price and active flag of a product.

        Clarity addresses products by SKU and a variant only through its VARIANT-MASTER, so
        the product is first looked up by one of its SKUs; the master's own fields are sent,
        its variants are left as they are. Nothing is written when Clarity already has the
        values (an echo, or a change of another field).
        """
        self.ensure_one()
        template = self.env["product.template"].with_context(active_test=False).browse(
            _payload_id(job, "product_template_id")).exists()
        if not template:
            raise PayloadValidationError("the product of this job no longer exists")
        skus = self._clarity_product_skus(template)
        if not skus:
            raise BusinessError(f"{template.display_name} has no SKU (internal reference) to find it in Clarity")
        client = self._clarity_client()
        remote = next((found for found in map(client.find_product, skus) if found), None)
        if remote is None and len(template.with_context(active_test=False).product_variant_ids) > 1:
            raise BusinessError(f"no Clarity product has the SKU {', '.join(skus)}: the product master "
                                f"of {template.display_name} cannot be found")
        sku = remote["CustomKey"] if remote else skus[0]
        body = mapper.product_to_clarity(Product(
            external_id=str(remote.get("ID")) if remote else sku, sku=sku,
            name=template.name, price=template.list_price, active=template.active))
        if remote and _same_product_fields(remote, body):
            return {"sku": sku, "outcome": "unchanged"}
        client.upsert_product(sku, body)
        return {"sku": sku, "outcome": "updated" if remote else "created"}

    def _clarity_product_skus(self, template):
        """SKUs of the template for this backend: bound variant SKUs first, then the
        variants' internal references."""
        variants = template.with_context(active_test=False).product_variant_ids
        bindings = self.env["commerce.binding"].sudo().search([
            ("backend_id", "=", self.id), ("res_model", "=", "product.product"), ("res_id", "in", variants.ids)])
        references = [variant.default_code for variant in variants if variant.default_code]
        return list(dict.fromkeys(bindings.mapped("external_id") + references))


def _payload_id(job, key):
    try:
        value = (json.loads(job.payload or "") or {})[key]
    except (ValueError, KeyError, TypeError):
        raise PayloadValidationError(f"the payload must be a JSON object with {key!r}") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadValidationError(f"{key} must be a record id, got {value!r}")
    return value


def _same_product_fields(remote, body):
    return (remote.get("Name") == body["Name"] and bool(remote.get("Active", True)) == body["Active"]
            and isinstance(remote.get("PriceBase"), (int, float))
            and not float_compare(remote["PriceBase"], body["PriceBase"] or 0.0, precision_digits=2))


def _handle_inventory_export(job):
    return job.backend_id._clarity_export_stock(job)


def _handle_inventory_items_export(job):
    return job.backend_id._clarity_export_stock_items(job)


def _handle_shipment_export(job):
    return job.backend_id._clarity_export_shipment(job)


def _handle_void_export(job):
    return job.backend_id._clarity_export_void(job)


def _handle_product_export(job):
    return job.backend_id._clarity_export_product(job)


register(f"clarity.{FLOW_INVENTORY}", _handle_inventory_export)
register(f"clarity.{FLOW_INVENTORY_ITEMS}", _handle_inventory_items_export)
register(f"clarity.{FLOW_SHIPMENT}", _handle_shipment_export)
register(f"clarity.{FLOW_ORDER_VOID}", _handle_void_export)
register(f"clarity.{FLOW_PRODUCT}", _handle_product_export)
