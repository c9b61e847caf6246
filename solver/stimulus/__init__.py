"""The light a job shines: spatial patterns rasterised on the grid, waveforms in time, and builders of both."""
