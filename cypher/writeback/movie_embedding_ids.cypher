// Purpose: movieIds of movies holding a vector in an embedding slot (to clear stale ones before reuse).
// Params:
//   $property  STRING  slot property, 'embedding' or 'embeddingB'
// Example:
//   :param property => 'embedding'
MATCH (m:Movie)
WHERE m[$property] IS NOT NULL
RETURN m.movieId AS id
