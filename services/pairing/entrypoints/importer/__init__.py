"""Bulk import of subjects and cadres from operators' Excel (.xlsx) and CSV files.

`template` defines the columns and writes the template, `reader` reads the file, `rows` turns
each row into an API body with every problem it has, and `cli` sends the good rows and reports
the rest (`carepair import …`, see docs/import.md).
"""
