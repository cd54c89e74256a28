"""Every input and output format: raw files in (CSV, XLSX, SPSS), the study store, exports out.

Nothing here computes a statistic; analyses take the DataFrames these modules return.
"""
