#!/usr/bin/env python3
"""Generate a realistic SQLite application database, deterministically.

    python3 bench/gen_app_db.py OUT.db [--size 100k|1m|N]

N is the row count of the largest table (events):

    users        N/20   (5,000 / 50,000)
    orders       N/4    (25,000 / 250,000)
    order_items  ~N/2   (1 to 3 per order, unique (order_id, sku))
    events       N      (100,000 / 1,000,000)

about 1.8 N rows in all.  Columns: INTEGER PRIMARY KEY AUTOINCREMENT keys,
text and VARCHAR(n), ISO datetime text ('2023-04-05 12:34:56'), 0/1 BOOLEAN,
NUMERIC(10,2), REAL, JSON text, ~100-byte BLOBs; a UNIQUE column, a UNIQUE
pair, secondary indexes (one on two columns) and foreign keys (one ON DELETE
CASCADE, two nullable).  Every value comes from one seeded random.Random, so
the same size always gives the same rows (and, with the same SQLite library,
the same file).
"""
import argparse
import itertools
import os
import random
import sqlite3
import sys
import time

SCHEMA = """
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         VARCHAR(255) NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    created_at    DATETIME NOT NULL,
    last_login_at DATETIME,
    is_active     BOOLEAN NOT NULL DEFAULT 1,
    is_admin      BOOLEAN NOT NULL DEFAULT 0,
    balance       NUMERIC(10,2) NOT NULL DEFAULT 0,
    rating        REAL,
    settings      JSON,
    avatar        BLOB
);
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    status           VARCHAR(20) NOT NULL,
    placed_at        DATETIME NOT NULL,
    shipped_at       DATETIME,
    is_gift          BOOLEAN NOT NULL DEFAULT 0,
    total            NUMERIC(10,2) NOT NULL,
    shipping         NUMERIC(10,2),
    weight_kg        REAL,
    shipping_address TEXT,
    metadata         JSON
);
CREATE TABLE order_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku          VARCHAR(32) NOT NULL,
    product_name TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    unit_price   NUMERIC(10,2) NOT NULL,
    discount     REAL NOT NULL DEFAULT 0,
    is_taxable   BOOLEAN NOT NULL DEFAULT 1,
    UNIQUE (order_id, sku)
);
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER REFERENCES users(id),
    order_id     INTEGER REFERENCES orders(id),
    kind         VARCHAR(32) NOT NULL,
    occurred_at  DATETIME NOT NULL,
    is_processed BOOLEAN NOT NULL DEFAULT 0,
    duration_ms  REAL,
    payload      JSON,
    fingerprint  BLOB
);
"""

# Built after the rows are in (faster); the file's schema is the same.
INDEXES = """
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX orders_user_placed ON orders (user_id, placed_at);
CREATE INDEX orders_status ON orders (status);
CREATE INDEX order_items_sku ON order_items (sku);
CREATE INDEX events_user_occurred ON events (user_id, occurred_at);
CREATE INDEX events_kind ON events (kind);
CREATE INDEX events_order ON events (order_id);
"""

FIRST = ["Ada", "Alan", "Grace", "Linus", "Ken", "Dennis", "Barbara", "Edsger", "Donald",
         "Margaret", "Frances", "John", "Niklaus", "Bjarne", "Guido", "Anders", "Radia",
         "Leslie", "Tony", "Shafi", "Sophie", "Lukas", "Mia", "Noah", "Chloé", "Zoë",
         "José", "Ingrid", "Søren", "Yuki"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Thompson", "Ritchie", "Liskov",
        "Dijkstra", "Knuth", "Hamilton", "Allen", "McCarthy", "Wirth", "Stroustrup",
        "van Rossum", "Hejlsberg", "Perlman", "Lamport", "Hoare", "Goldwasser", "Müller",
        "García", "O'Brien", "Nguyen", "Kowalski", "Andersson", "Rossi", "Dubois",
        "Tanaka", "Smith"]
STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill",
           "Park", "Rue de la Paix", "Königstraße", "Calle Mayor"]
CITIES = ["Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton",
          "Fairview", "Salem", "Madison", "Georgetown", "Paris", "München", "Sevilla"]
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]
STATUS_W = [5, 10, 15, 60, 7, 3]
KINDS = ["page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout",
         "login", "logout", "signup", "email_open"]
KIND_W = [40, 20, 10, 8, 2, 3, 7, 5, 1, 4]
THEMES = ["light", "dark", "system"]
LANGS = ["en", "de", "fr", "es", "ja", "pt"]
CHANNELS = ["web", "ios", "android", "phone"]
REFS = ["direct", "search", "ads", "email", "social"]
NSKU = 2000
STATUS_CW = list(itertools.accumulate(STATUS_W))
KIND_CW = list(itertools.accumulate(KIND_W))

T0 = 1577836800      # 2020-01-01 00:00:00 UTC
SPAN = 4 * 365 * 86400


def ts(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def parse_size(s):
    s = s.lower()
    if s.endswith("k"):
        return int(s[:-1]) * 1000
    if s.endswith("m"):
        return int(s[:-1]) * 1000000
    return int(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", default="100k", help="rows in events: 100k, 1m or a number")
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    n = parse_size(a.size)
    if n < 100:
        sys.exit("size too small")
    n_users, n_orders = n // 20, n // 4
    rng = random.Random(a.seed)
    rnd = rng.random

    # faster than Random.randint and Random.choice, and as deterministic
    def randint(lo, hi):
        return lo + int(rnd() * (hi - lo + 1))

    def choice(seq):
        return seq[int(rnd() * len(seq))]
    start = time.time()

    if os.path.exists(a.out):
        os.unlink(a.out)
    db = sqlite3.connect(a.out, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -200000")
    db.executescript(SCHEMA)
    db.execute("BEGIN")

    skus = ["SKU-%06d" % (i * 7 + 1000) for i in range(NSKU)]
    products = ["%s %s %d" % (choice(["Red", "Blue", "Green", "Steel", "Oak", "Wool", "Glass"]),
                              choice(["Chair", "Lamp", "Mug", "Desk", "Scarf", "Kettle", "Shelf",
                                      "Pen", "Rug", "Clock"]), i) for i in range(NSKU)]
    prices = [round(1 + rnd() * 299, 2) for _ in range(NSKU)]

    def users():
        for i in range(1, n_users + 1):
            f, l = choice(FIRST), choice(LAST)
            created = T0 + int(rnd() * SPAN)
            last = None if rnd() < 0.2 else ts(created + int(rnd() * 86400 * 300))
            settings = None if rnd() < 0.1 else (
                '{"theme": "%s", "lang": "%s", "notifications": {"email": %s, "sms": %s}, "tz_offset": %d}'
                % (choice(THEMES), choice(LANGS), choice(["true", "false"]),
                   choice(["true", "false"]), randint(-12, 14)))
            yield ("%s.%s.%d@example.com" % (f.lower(), l.lower().replace(" ", "").replace("'", ""), i),
                   "%s %s" % (f, l), ts(created), last,
                   1 if rnd() < 0.9 else 0, 1 if rnd() < 0.01 else 0,
                   round(rnd() * 5000, 2), None if rnd() < 0.3 else round(1 + rnd() * 4, 3),
                   settings, rng.randbytes(100) if rnd() < 0.7 else None)

    db.executemany("INSERT INTO users (email, name, created_at, last_login_at, is_active, is_admin, "
                   "balance, rating, settings, avatar) VALUES (?,?,?,?,?,?,?,?,?,?)", users())

    items = []

    def orders():
        for i in range(1, n_orders + 1):
            placed = T0 + int(rnd() * SPAN)
            status = rng.choices(STATUSES, cum_weights=STATUS_CW)[0]
            shipped = ts(placed + randint(3600, 86400 * 7)) if status in ("shipped", "delivered") else None
            total = 0.0
            for k in rng.sample(range(NSKU), randint(1, 3)):
                q = randint(1, 5)
                items.append((i, skus[k], products[k], q, prices[k],
                              0.0 if rnd() < 0.8 else round(rnd() * 0.3, 2), 1 if rnd() < 0.95 else 0))
                total += q * prices[k]
            meta = ('{"channel": "%s", "coupon": %s, "utm": {"source": "%s", "campaign": "c%d"}}'
                    % (choice(CHANNELS), "null" if rnd() < 0.8 else '"SAVE%d"' % randint(5, 30),
                       choice(REFS), randint(1, 50)))
            yield (randint(1, n_users), status, ts(placed), shipped, 1 if rnd() < 0.05 else 0,
                   round(total, 2), None if rnd() < 0.1 else round(rnd() * 25, 2),
                   round(0.1 + rnd() * 20, 3),
                   "%d %s St, %s %05d" % (randint(1, 9999), choice(STREETS), choice(CITIES),
                                          randint(1000, 99999)), meta)

    db.executemany("INSERT INTO orders (user_id, status, placed_at, shipped_at, is_gift, total, "
                   "shipping, weight_kg, shipping_address, metadata) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   orders())
    db.executemany("INSERT INTO order_items (order_id, sku, product_name, quantity, unit_price, "
                   "discount, is_taxable) VALUES (?,?,?,?,?,?,?)", items)
    n_items = len(items)
    del items

    def events():
        for i in range(1, n + 1):
            kind = rng.choices(KINDS, cum_weights=KIND_CW)[0]
            uid = None if rnd() < 0.15 else randint(1, n_users)
            oid = randint(1, n_orders) if kind == "checkout" else None
            payload = None if rnd() < 0.05 else (
                '{"path": "/p/%d", "ref": "%s", "items": [%d, %d], "ms": %d, "ab": "%s"}'
                % (randint(1, NSKU), choice(REFS), randint(1, 99), randint(1, 99),
                   randint(5, 3000), choice("ABC")))
            yield (uid, oid, kind, ts(T0 + int(rnd() * SPAN)), 1 if rnd() < 0.6 else 0,
                   None if rnd() < 0.2 else round(rnd() * 2000, 3), payload,
                   rng.randbytes(randint(96, 104)))

    db.executemany("INSERT INTO events (user_id, order_id, kind, occurred_at, is_processed, "
                   "duration_ms, payload, fingerprint) VALUES (?,?,?,?,?,?,?,?)", events())
    db.execute("COMMIT")
    db.executescript(INDEXES)
    db.close()
    total = n_users + n_orders + n_items + n
    print("%s: users %d, orders %d, order_items %d, events %d: %d rows, %.1f MB, %.1f s"
          % (a.out, n_users, n_orders, n_items, n, total, os.path.getsize(a.out) / 1e6,
             time.time() - start))


if __name__ == "__main__":
    main()
