"""How a one-off command (a migration) runs in each image flavour, the same on both targets.

Images start their app through an entry script that first prepares it (finds the bundle, unpacks
it, picks its Node) and then runs `node main.js`; a one-off command must get the same preparation
and then run instead of the app, in the app's directory:

- `meteor` (dockerfiles/meteor): ENTRYPOINT is tini, WORKDIR /built_app; tini runs its arguments.
- `zodern` (zodern/meteor-docker image/Dockerfile: shell-form `ENTRYPOINT bash
  /home/app/scripts/entry.sh`, which ignores arguments; WORKDIR /home/app): scripts/start.sh
  unpacks /bundle/bundle.tar.gz or uses /built_app, sources scripts/setup_nvm.sh (the Node the
  bundle names), then runs `node main.js`. The wrapper below does the same, then the command.
- `meteord` (meteorhacks/meteord base/Dockerfile: shell-form `ENTRYPOINT bash
  $METEORD_DIR/run_app.sh`, no WORKDIR): run_app.sh takes /bundle, then BUNDLE_URL, then
  /built_app, rebuilds native modules when REBUILD_NPM_MODULES is set, then runs `node main.js`.
  The wrapper below does the same (but for DELAY: the migration already waits for MongoDB), then
  the command.
- `custom`: the image is unknown; the command replaces its ENTRYPOINT, as a Kubernetes `command` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.config.apps import ImageFlavor

ZODERN_ONE_OFF = """set -e
if [ -e /bundle/bundle.tar.gz ]; then
  cd /bundle
  tar $([ "$(id -u)" = 0 ] || echo --no-same-owner) -xzf bundle.tar.gz
  cd /bundle/bundle
  . /home/app/scripts/setup_nvm.sh >&2
  (cd programs/server && npm install $NPM_INSTALL_OPTIONS >&2)
else
  cd /built_app
  . /home/app/scripts/setup_nvm.sh >&2
fi
exec "$@"
"""

METEORD_ONE_OFF = """set -e
if [ -d /bundle ]; then
  cd /bundle
  tar xzf *.tar.gz
  (cd /bundle/bundle/programs/server && npm i >&2)
  cd /bundle/bundle
elif [ -n "$BUNDLE_URL" ]; then
  cd /tmp
  rm -rf bundle bundle.tar.gz
  curl -fsSL -o bundle.tar.gz "$BUNDLE_URL"
  tar xzf bundle.tar.gz
  (cd /tmp/bundle/programs/server && npm i >&2)
  cd /tmp/bundle
elif [ -d /built_app ]; then
  cd /built_app
else
  echo "no Meteor app in this image (/bundle, BUNDLE_URL or /built_app)" >&2
  exit 1
fi
if [ -n "$REBUILD_NPM_MODULES" ]; then
  if [ ! -f /opt/meteord/rebuild_npm_modules.sh ]; then
    echo "REBUILD_NPM_MODULES needs the meteorhacks/meteord:bin-build image" >&2
    exit 1
  fi
  (cd programs/server && bash /opt/meteord/rebuild_npm_modules.sh >&2)
fi
exec "$@"
"""


@dataclass(frozen=True)
class OneOff:
    entrypoint: list[str] | None
    """Replaces the image's ENTRYPOINT (Kubernetes `command`, Docker `entrypoints`); None keeps it."""
    arguments: list[str]
    """The image's CMD is replaced by these (Kubernetes `args`, Docker `command`)."""


def one_off(flavor: ImageFlavor, command: Sequence[str]) -> OneOff:
    """How `command` runs once in an image of `flavor`, prepared as the image prepares its app."""
    if flavor is ImageFlavor.METEOR:
        return OneOff(None, list(command))
    if flavor is ImageFlavor.ZODERN:
        return OneOff(["bash", "-c", ZODERN_ONE_OFF, "one-off"], list(command))
    if flavor is ImageFlavor.METEORD:
        return OneOff(["bash", "-c", METEORD_ONE_OFF, "one-off"], list(command))
    return OneOff(list(command), [])
