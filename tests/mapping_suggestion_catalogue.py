"""The deterministic product catalogue the labelled mapping-suggestion set refers to (plain Python).

Products come in families of near neighbours (same model in several colours and sizes), so a
suggestion has to tell ``WID-100-BLU-M`` from ``WID-100-BLU-L``, as in a real catalogue.
"""

import random

FAMILIES = (  # (code prefix, name, model number, sized)
    ("WID", "Widget", 100, True),
    ("WID", "Widget Pro", 200, True),
    ("TSH", "Classic T-Shirt", 180, True),
    ("HOD", "Zip Hoodie", 320, True),
    ("SCK", "Running Socks", 3, True),
    ("MUG", "Stoneware Mug", 12, False),
    ("BTL", "Insulated Water Bottle", 750, False),
    ("KTL", "Gooseneck Kettle", 1, False),
    ("LMP", "Desk Lamp", 40, False),
    ("BAG", "Canvas Tote Bag", 15, False),
    ("CUS", "Cushion Cover", 45, False),
    ("TWL", "Linen Tea Towel", 2, False),
)
COLOURS = (("BLU", "Blue"), ("RED", "Red"), ("BLK", "Black"), ("WHT", "White"), ("GRN", "Green"),
           ("GRY", "Grey"), ("YLW", "Yellow"), ("NVY", "Navy"))
SIZES = (("S", "Small"), ("M", "Medium"), ("L", "Large"), ("XL", "Extra Large"))
CATALOGUE_SIZE = 100


def ean13(body12):
    """``body12`` (12 digits) with its EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def catalogue():
    """``[(default_code, name, barcode)]``: the same 100 products on every run."""
    rng = random.Random(20261202)
    combos = []
    for prefix, family, number, sized in FAMILIES:
        for colour in COLOURS:
            for size in (SIZES if sized else (None,)):
                combos.append((prefix, family, number, colour, size))
    chosen = sorted(rng.sample(range(len(combos)), CATALOGUE_SIZE))
    products = []
    for index, combo_index in enumerate(chosen):
        prefix, family, number, (colour_code, colour), size = combos[combo_index]
        code = f"{prefix}-{number:03d}-{colour_code}" + (f"-{size[0]}" if size else "")
        name = f"{family} {number} {colour}" + (f" {size[1]}" if size else "")
        products.append((code, name, ean13(f"40{index:04d}{rng.randrange(10 ** 6):06d}")))
    return products
