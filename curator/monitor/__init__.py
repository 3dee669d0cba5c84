"""Collection-level views over what was admitted: the collapse (diversity) monitor."""
