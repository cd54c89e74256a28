"""Reports: running parameterised notebooks, exporting them to HTML and PDF, and batches."""
