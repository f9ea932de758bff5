// Purpose: create or refresh the :Dataset provenance node at the start of a load (a failed one is loading again).
// Params:
//   $name         STRING   release name, e.g. 'ml-latest-small' or 'synthetic'
//   $source       STRING   where the files came from
//   $md5          STRING   md5 of the zip (null for a directory or synthetic data)
//   $fingerprint  STRING   sha256 of the loaded content (loader/provenance.py)
//   $synthetic    BOOLEAN  true for generated data
//   $expected     STRING   JSON of the source row counts
// Example:
//   :param {name: 'ml-latest-small', source: 'ml-latest-small.zip', md5: null, fingerprint: 'abc', synthetic: false, expected: '{}'}
MERGE (d:Dataset {name: $name})
ON CREATE
  SET d.status = 'loading', d.startedAt = datetime()
SET d.source = $source, d.md5 = $md5, d.fingerprint = $fingerprint, d.synthetic = $synthetic,
    d.expected = $expected,
    d.status = CASE d.status WHEN 'failed' THEN 'loading' ELSE d.status END,
    d.failure = null
RETURN d.status AS status
