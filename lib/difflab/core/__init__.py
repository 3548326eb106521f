"""The numerics: the forward process, data, networks, objectives, denoisers, the Gaussian closed
form, samplers and metrics. Imports nothing above it."""
