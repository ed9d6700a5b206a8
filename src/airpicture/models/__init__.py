"""Physics: motion models (``motion``), measurement models (``measurement``)."""
