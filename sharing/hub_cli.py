"""Run the community hub: gateways' quarter-hours over MQTT -> allocation -> each member's share.

Subscribes (QoS 1, persistent session, fixed client id) to the MQTT 5 shared subscription
$share/<group>/p1gw/+/quarter_hour, so several hub workers with the same --group split the load;
stores readings and allocations in SQLite (--db FILE) or PostgreSQL (--db postgresql://...), same
schema; allocates a quarter-hour as soon as every member's reading is in, or provisionally
--deadline seconds after its end (missing members count as zero; recomputed when late data
arrives); publishes each member's share retained on p1gw/<meter_id>/community:
  {"ean": ..., "start": ..., "end": ..., "shared_kwh": 0.412, "residual_kwh": 0.088,
   "surplus_kwh": 0.0, "provisional": false, "key": "dynamic", ...}
Members CSV as for `p1gw share`, with a meter_id column mapping gateways to EANs.

Examples:
  p1gw hub --mqtt mqtt://127.0.0.1:1883 --members members.csv --key dynamic --db hub.sqlite
  p1gw hub --mqtt mqtt://broker:1883 --members members.csv --key fluvius-optimal \\
      --db postgresql://hub@db/hub --client-id hub-2 --group community-a
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from sharing.csvio import InputError, read_members
from sharing.hub import HubConfig, run_hub
from sharing.keys import key_names
from sharing.keyspec import build_key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", required=True, help="broker URL mqtt://[user:pass@]host:port")
    parser.add_argument("--members", required=True, type=Path, help="members CSV with meter_id")
    parser.add_argument("--key", required=True, choices=key_names(), help="allocation key")
    parser.add_argument("--rounds", help="multi-round key: RELEASE_PCT:MODE,...")
    parser.add_argument("--fixed-part", default="50", help="hybrid key: %% by fixed key")
    parser.add_argument("--db", default="hub.sqlite", help="SQLite file or postgresql:// URL")
    parser.add_argument("--client-id", default="p1gw-hub", help="MQTT client id (fixed)")
    parser.add_argument("--group", default="p1gw-hub", help="shared-subscription group ('' = none)")
    parser.add_argument("--deadline", type=int, default=3600, help="seconds after a quarter-hour "
                        "ends before it is allocated provisionally")  # fmt: skip
    parser.add_argument("--sweep-every", type=float, default=30.0, help="deadline check period s")
    parser.add_argument("--mqtt-v311", action="store_true", help="MQTT 3.1.1 (clean_session=0)")
    parser.add_argument("--base-topic", default="p1gw", help="topic prefix")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        community = read_members(args.members)
        key = build_key(args.key, community, rounds=args.rounds, fixed_part_pct=args.fixed_part)
    except (InputError, ValueError) as exc:
        print(f"p1gw hub: {exc}", file=sys.stderr)
        return 2
    config = HubConfig(
        broker_url=args.mqtt,
        store=args.db,
        client_id=args.client_id,
        group=args.group,
        deadline_s=args.deadline,
        sweep_every_s=args.sweep_every,
        mqtt_v311=args.mqtt_v311,
        base_topic=args.base_topic,
    )
    try:
        asyncio.run(run_hub(config, community, key))
    except Exception as exc:  # a lost broker or database: say it plainly
        print(f"p1gw hub: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
