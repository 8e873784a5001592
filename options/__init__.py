"""Command-line options: shared ones in base_options, plus training and testing specifics."""
