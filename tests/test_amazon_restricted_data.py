"""Personal data of Amazon orders: one restricted data token for many orders, replaced near or
after its expiry, kept in process memory only."""

from datetime import timedelta

from ..channels.amazon import client as amazon_client
from ..channels.amazon import const
from .test_amazon_orders import US, AmazonCase, by_amazon, status_of

GENERIC_ORDER_PATH = "/orders/2026-01-01/orders/{orderId}"


class TestAmazonRestrictedDataTokens(AmazonCase):

    def setUp(self):
        super().setUp()
        amazon_client.forget_restricted_data_tokens()
        self.addCleanup(amazon_client.forget_restricted_data_tokens)
        self.backend.amazon_fetch_pii = True

    def rdt_calls(self):
        return self.sim.recorder.calls(operation="createRestrictedDataToken")

    def personal_reads(self):
        """getOrder calls made with a restricted data token, as {order id: [tokens]}."""
        restricted = {t.value for t in self.sim.issued_tokens("restricted")}
        reads = {}
        for call in self.sim.recorder.calls(operation="getOrder"):
            token = call.headers.get("x-amz-access-token")
            if token in restricted:
                reads.setdefault(call.path.rsplit("/", 1)[-1], []).append((token, call.status))
        return reads

    def test_many_pii_orders_cost_one_restricted_data_token(self):
        self.sim.generate_orders(25)
        self.poll()
        self.assertAllJobsDone()
        imported = [j for j in self.jobs("amazon.order.import") if '"created"' in (j.result or "")]
        self.assertGreater(len(imported), 10, "more orders than the token operation's burst of 10")

        [call] = self.rdt_calls()
        self.assertEqual(call.status, 200)
        [resource] = call.json()["restrictedResources"]
        self.assertEqual((resource["method"], resource["path"]), ("GET", GENERIC_ORDER_PATH))
        reads = self.personal_reads()
        self.assertEqual(len(reads), len(imported), "every imported order was read with the token")
        self.assertEqual({token for calls in reads.values() for token, _status in calls},
                         {self.sim.issued_tokens("restricted")[0].value})
        for order_id in reads:
            remote, sale_order = self.sim.order(order_id), self.sale_order(order_id)
            if not by_amazon(remote):
                self.assertEqual(sale_order.partner_shipping_id.street,
                                 remote["recipient"]["deliveryAddress"]["addressLine1"])
        token = self.sim.issued_tokens("restricted")[0].value
        for job in self.jobs():
            self.assertNotIn(token, (job.payload or "") + (job.result or "") + (job.error_message or ""))

    def test_a_token_amazon_no_longer_accepts_is_replaced(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        self.sim.generate_orders(12)
        self.poll()
        self.assertAllJobsDone()
        self.assertEqual(len(self.rdt_calls()), 1)
        first = self.sim.issued_tokens("restricted")[0].value

        # An hour later at Amazon: the token (and the access token) expired, though our clock
        # had not said so yet.
        self.sim.advance_clock(3700)
        generated = self.sim.generate_orders(12, start=self.sim.now() - timedelta(minutes=50), minutes_between=(1, 2))
        later = [o for o in generated if status_of(self.sim.order(o)) == "UNSHIPPED"]
        self.assertGreaterEqual(len(later), 2)
        self.sim.advance_clock(180)
        self.poll()

        self.assertAllJobsDone()
        self.assertEqual([c.status for c in self.rdt_calls()], [200, 200], "one new token, not one per order")
        second = self.sim.issued_tokens("restricted")[1].value
        reads = self.personal_reads()
        self.assertEqual([token for token, status in reads[later[0]] if status == 200], [second])
        self.assertEqual({token for order_id in later[1:] for token, _s in reads[order_id]}, {second})
        self.assertIn((first, 403), reads[later[0]], "the expired token was refused, then replaced")
        for order_id in later:
            remote = self.sim.order(order_id)
            self.assertEqual(self.sale_order(order_id).partner_shipping_id.zip,
                             remote["recipient"]["deliveryAddress"]["postalCode"])
            if not by_amazon(remote):
                self.assertEqual(self.sale_order(order_id).partner_shipping_id.street,
                                 remote["recipient"]["deliveryAddress"]["addressLine1"])

    def test_a_token_near_its_expiry_is_renewed_before_use(self):
        self.sim.generate_orders(20)
        order_ids = [o for o in self.sim.order_ids() if status_of(self.sim.order(o)) in ("UNSHIPPED", "SHIPPED")][:3]
        now = [1000.0]
        client = amazon_client.AmazonClient(
            self.sim.url, US, lwa_client_id=self.sim.client_id, lwa_client_secret=self.sim.client_secret,
            refresh_token=self.sim.refresh_token, lwa_url=f"{self.sim.url}/auth/o2/token", clock=lambda: now[0])

        for order_id in order_ids[:2]:
            self.assertEqual(client.get_order_with_personal_data(order_id)["orderId"], order_id)
        self.assertEqual(len(self.rdt_calls()), 1)
        now[0] += self.sim.restricted_data_token_ttl - const.RDT_RENEW_MARGIN + 1
        client.get_order_with_personal_data(order_ids[2])

        self.assertEqual(len(self.rdt_calls()), 2, "renewed while Amazon would still take the old one")
        first, second = (t.value for t in self.sim.issued_tokens("restricted"))
        reads = self.personal_reads()
        self.assertEqual([reads[o] for o in order_ids], [[(first, 200)], [(first, 200)], [(second, 200)]])
        self.assertNotIn(second, repr(client))
