"""A local AWS API (moto) for the provisioning tests, with one correction.

moto 5.2.5 files NAT gateway tags under the resource type "nat-gateway" where AWS (and the
amazon.aws modules, which filter describe_tags on it) say "natgateway": a tagged NAT gateway
would then look changed on every run. This corrects moto's prefix map before serving.

    python tests/deploy/moto_server.py PORT
"""

from __future__ import annotations

import signal
import sys

from moto.ec2 import utils as ec2_utils
from moto.server import ThreadedMotoServer

ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    try:
        signal.pause()  # serve until a signal ends the process
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
