"""The scenario simulator: objects, sensors, scenario files and the data-contract tables they make
(:func:`airpicture.sim.run.simulate`)."""

__all__: list[str] = []
