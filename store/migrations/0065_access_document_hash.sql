-- The SHA-256 (hex) of the document a read produced (the printable compliance report as HTML
-- or PDF), so a copy shown later can be checked against what was handed out. NULL for reads
-- that produce no document (JSON, tracks). Written in the transaction that writes the entry.
ALTER TABLE access_log ADD COLUMN document_sha256 text
    CHECK (document_sha256 IS NULL OR document_sha256 ~ '^[0-9a-f]{64}$');
