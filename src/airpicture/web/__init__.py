"""The live map: a picture store, an ASGI server and the page shipped with the package.

* :mod:`airpicture.web._store` — :class:`~airpicture.web.PictureStore`, the pictures of
  several nations fed with tracker deltas, with history, sensors, impacts, alerts and warning
  areas (no web dependencies);
* :mod:`airpicture.web._app` — :func:`~airpicture.web.create_app`, the Starlette app (page,
  WebSocket deltas, JSON endpoints);
* :mod:`airpicture.web._recorded` — :func:`~airpicture.web.store_of_tracks`, a recorded
  tracks table (with its tracks' identity) as a store the map can show and scrub through;
* :mod:`airpicture.web._server` — :func:`~airpicture.web.start_server`, uvicorn on
  127.0.0.1 in a background thread, with bounded request heads (:mod:`airpicture.web._protocol`),
  or beyond this machine with TLS and a login;
* :mod:`airpicture.web._auth` — operators (:class:`~airpicture.web.Operator`: name, nation,
  role), local accounts with scrypt-hashed passwords (:class:`~airpicture.web.Accounts`, or any
  :class:`~airpicture.web.Authenticator`, an organisation's single sign-on) and
  :class:`~airpicture.web.Sessions`;
* :mod:`airpicture.web._coordination` — :class:`~airpicture.web.CoordinationBoard`, the
  operators' coordination actions applied to each view;
* :mod:`airpicture.web._browser` — :func:`~airpicture.web._browser.launch_chromium`, the headless
  chromium (through Playwright) the page is tested and measured in.

The page is a bundle built from ``web/`` at the repository root (``npm run build``) into
``airpicture/web/static``; users never need npm. Positions on the wire are WGS-84 degrees and
metres, as described in :mod:`airpicture.web._store`. The server parts need the ``web`` extra
(``pip install "airpicture[web]"``).
"""

from airpicture.web._app import (
    RequestError,
    create_app,
    static_dir,
)
from airpicture.web._auth import (
    ROLES,
    Accounts,
    Authenticator,
    Operator,
    Sessions,
    add_account,
)
from airpicture.web._coordination import (
    CoordinationBoard,
)
from airpicture.web._display import (
    display_records,
)
from airpicture.web._overlays import (
    Alert,
    Impact,
    SensorSite,
)
from airpicture.web._recorded import (
    store_of_tracks,
)
from airpicture.web._server import (
    DEFAULT_PORT,
    WebServer,
    start_server,
)
from airpicture.web._store import (
    Listener,
    PictureStore,
)

__all__ = [
    "DEFAULT_PORT",
    "ROLES",
    "Accounts",
    "Alert",
    "Authenticator",
    "CoordinationBoard",
    "Impact",
    "Listener",
    "Operator",
    "PictureStore",
    "RequestError",
    "SensorSite",
    "Sessions",
    "WebServer",
    "add_account",
    "create_app",
    "display_records",
    "start_server",
    "static_dir",
    "store_of_tracks",
]
