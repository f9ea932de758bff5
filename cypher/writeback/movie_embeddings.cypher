// Purpose: write one batch of movie vectors into an embedding slot property (not read until the run is switched).
// Params:
//   $property  STRING     slot property, 'embedding' or 'embeddingB'
//   $rows      LIST<MAP>  {id: INTEGER movieId, embedding: LIST<FLOAT>}
// Example:
//   :param {property: 'embedding', rows: [{id: 1, embedding: [0.1, -0.2, 0.3]}]}
UNWIND $rows AS row
MATCH (m:Movie {movieId: row.id})
SET m[$property] = row.embedding
RETURN count(m) AS written
