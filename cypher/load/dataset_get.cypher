// Purpose: the provenance node(s) of what is loaded: name, status and resume checkpoints.
// Params: none
// Example:
//   (no parameters)
MATCH (d:Dataset)
RETURN d.name AS name, d.status AS status, d.md5 AS md5, d.source AS source,
       d.synthetic AS synthetic, d.ratingsDone AS ratingsDone, d.tagsDone AS tagsDone,
       d.ratingsMode AS ratingsMode, d.loadedAt AS loadedAt
