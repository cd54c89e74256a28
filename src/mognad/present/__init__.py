"""The presentation layer: texts, number formats, escaped tables and plots for every report."""
