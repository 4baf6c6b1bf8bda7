"""The generation engine: runs a job through the stages with progress, cancel and caching."""
