"""Physics: motion models (``motion``), measurement models (``measurement``)."""

__all__: list[str] = []
