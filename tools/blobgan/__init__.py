"""BlobGAN / OCTET workflow tools: run as `python -m tools.blobgan.<verb>`."""
