"""Vendor export sources: each module maps one tool's export onto the contract.

Importing this package registers every vendor source in
:data:`cxray.ingest.SOURCES`.
"""
