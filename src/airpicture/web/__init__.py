"""The live map: a picture store, an ASGI server and the page shipped with the package.

* :mod:`airpicture.web.store` — :class:`~airpicture.web.store.PictureStore`, the pictures of
  several nations fed with tracker deltas, with history, sensors, impacts, alerts and warning
  areas (no web dependencies);
* :mod:`airpicture.web.app` — :func:`~airpicture.web.app.create_app`, the Starlette app (page,
  WebSocket deltas, JSON endpoints);
* :mod:`airpicture.web.server` — :func:`~airpicture.web.server.start_server`, uvicorn on
  127.0.0.1 in a background thread;
* :mod:`airpicture.web.browser` — :func:`~airpicture.web.browser.launch_chromium`, the headless
  chromium (through Playwright) the page is tested and measured in.

The page is a bundle built from ``web/`` at the repository root (``npm run build``) into
``airpicture/web/static``; users never need npm. Positions on the wire are WGS-84 degrees and
metres, as described in :mod:`airpicture.web.store`. The server parts need the ``web`` extra
(``pip install "airpicture[web]"``).
"""

from airpicture.web.store import (
    ALERT_STATES,
    Alert,
    Impact,
    PictureStore,
    SensorSite,
    display_records,
)

__all__ = ["ALERT_STATES", "Alert", "Impact", "PictureStore", "SensorSite", "display_records"]
