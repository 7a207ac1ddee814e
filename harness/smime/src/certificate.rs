//! Reading certificates (PEM bundles, DER) and the facts about them that reports show.
